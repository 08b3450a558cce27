from app.scheduling.solver.problem import Location, TravelSettings
from app.scheduling.solver.travel import postcode_parts, travel_tenths

SETTINGS = TravelSettings()


def test_coordinates_give_haversine_with_detour_at_town_speed() -> None:
    a = Location("ME2 4AA", 51.39, 0.49)
    b = Location("ME2 4AB", 51.40, 0.49)  # 1.112 km north
    assert travel_tenths(a, b, SETTINGS) == 29  # 1.112 * 1.3 / 30 h = 2.9 min
    assert travel_tenths(a, a, SETTINGS) == 0


def test_postcode_proximity_without_coordinates() -> None:
    assert postcode_parts("me2 4ab") == ("ME", "ME2", "ME2 4")
    home = Location("ME2 4AB")
    assert travel_tenths(home, Location("ME2 4XY"), SETTINGS) == 50
    assert travel_tenths(home, Location("ME2 3XY"), SETTINGS) == 100
    assert travel_tenths(home, Location("ME7 1AA"), SETTINGS) == 200
    assert travel_tenths(home, Location("DA1 1AA"), SETTINGS) == 250

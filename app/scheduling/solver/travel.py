"""Travel time between two homes (or a home and the school), in tenths of a minute.

With coordinates: straight-line (haversine) distance, stretched by a detour factor for real roads,
at a town driving speed. Without: postcode proximity, since an MIS address with no coordinates
still says how near two homes are (same sector < same district < same area). Whole tenths, so the
solver and the validator add up exactly the same numbers.
"""

import math
import re

from app.scheduling.solver.problem import Location, TravelSettings

EARTH_RADIUS_KM = 6371.0088
_OUTWARD_AREA = re.compile(r"^[A-Z]+")


def haversine_km(a: Location, b: Location) -> float:
    lat1, lat2 = math.radians(a.latitude or 0.0), math.radians(b.latitude or 0.0)
    dlat = lat2 - lat1
    dlon = math.radians((b.longitude or 0.0) - (a.longitude or 0.0))
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def postcode_parts(postcode: str) -> tuple[str, str, str]:
    """(area, district, sector) of a UK postcode: ME2 4AB -> (ME, ME2, ME2 4)."""
    compact = postcode.replace(" ", "").upper()
    if len(compact) < 5:
        return compact, compact, compact
    outward, inward = compact[:-3], compact[-3:]
    match = _OUTWARD_AREA.match(outward)
    area = match.group(0) if match else outward
    return area, outward, f"{outward} {inward[0]}"


def postcode_minutes(a: str, b: str, settings: TravelSettings) -> int:
    area_a, district_a, sector_a = postcode_parts(a)
    area_b, district_b, sector_b = postcode_parts(b)
    if sector_a == sector_b:
        return settings.same_sector_minutes
    if district_a == district_b:
        return settings.same_district_minutes
    if area_a == area_b:
        return settings.same_area_minutes
    return settings.elsewhere_minutes


def travel_tenths(a: Location, b: Location, settings: TravelSettings) -> int:
    """Tenths of a minute to drive from a to b, rounded up (a schedule never assumes less)."""
    if a == b:
        return 0
    if a.has_coordinates and b.has_coordinates:
        km = haversine_km(a, b) * settings.detour_factor
        return math.ceil(km / settings.speed_kmh * 600 - 1e-9)
    return postcode_minutes(a.postcode, b.postcode, settings) * 10

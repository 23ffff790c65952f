"""What the server reads from a 3D model document: the number of objects in it.

The editor stores either a list of objects (`objects: [{…, children: […]}]`), a three.js scene
(`object: {…, children: […]}` as `Object3D.toJSON()` writes it) or a flat `meshes` list. Every
node of the tree counts as one object; the rest of the document is the editor's business."""

from __future__ import annotations

from typing import Any

from spacekontext.documents import Problem, document_invalid, require_object

KIND = "3D model"


def count_objects(document: Any) -> int:
    doc = require_object(document, KIND)
    problems: list[Problem] = []
    roots: list[tuple[str, Any]] = []
    if "objects" in doc:
        if not isinstance(doc["objects"], list):
            problems.append(Problem("/objects", "must be a list of objects"))
        else:
            roots = [(f"/objects/{i}", item) for i, item in enumerate(doc["objects"])]
    elif "object" in doc:
        roots = [("/object", doc["object"])]
    elif "meshes" in doc:
        if not isinstance(doc["meshes"], list):
            problems.append(Problem("/meshes", "must be a list"))
        else:
            roots = [(f"/meshes/{i}", item) for i, item in enumerate(doc["meshes"])]
    count = 0
    stack = roots
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            problems.append(Problem(path, "an object must be a JSON object"))
            continue
        count += 1
        children = node.get("children", [])
        if not isinstance(children, list):
            problems.append(Problem(f"{path}/children", "must be a list"))
            continue
        stack.extend((f"{path}/children/{i}", child) for i, child in enumerate(children))
    if problems:
        raise document_invalid(KIND, sorted(problems, key=lambda p: p.path))
    return count

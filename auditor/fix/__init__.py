"""``confaudit fix``: mechanical edits for findings, one module per input family.

``plan(root, model, findings)`` -> ``Plan`` (fixes with their text edits, and the findings left
alone with the reason); ``command`` is the CLI front end. Rules stay pure: fixers re-read the files
the findings point at and find the object again through the model.
"""

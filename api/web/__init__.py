"""The web face: server-rendered HTML pages over the same views the JSON routes answer with."""

"""The console's global stylesheet (kept in Python so it ships without package-data rules).

Only theme variables are used ($panel, $error…), never fixed colours, so the three themes
and NO_COLOR all work; widgets that stand alone carry their own ``DEFAULT_CSS``.
"""

APP_CSS = """
StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
Banner {
    height: auto; max-height: 3; padding: 0 1;
    background: $error 25%; color: $foreground; text-style: bold;
}
Crumbs { height: 1; padding: 0 1; color: $foreground; background: $surface; }
.section { text-style: bold; padding: 0 1; }
#body { padding: 0 1; }
Footer { background: $panel; }
"""

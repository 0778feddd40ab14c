"""The Profile area: what the assistant believes about the person, and how they write."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from assistant.tui.pane import StorePane

NO_FACTS = ("Facts about you are not learned yet: when they are, each will be listed here with its "
            "evidence, for you to edit or delete. Below is only what your own emails show.")


class ProfilePane(StorePane):
    DEFAULT_CSS = """
    ProfilePane DataTable { height: auto; max-height: 12; margin-bottom: 1; }
    ProfilePane .heading { text-style: bold; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(NO_FACTS, id="profile-facts", markup=False)
            yield Static("How you write", classes="heading")
            yield Static("Reading your profile…", id="profile-style", markup=False)
            yield DataTable(id="profile-people", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#profile-people", DataTable).add_columns("correspondent", "emails", "greeting", "sign-off")

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="profile")
    def load(self) -> None:
        from assistant.profile.style import stored_style

        try:
            with self.app.reader() as db:
                style = stored_style(db)
        except Exception as exc:  # noqa: BLE001 - reported, the rest of the app goes on
            self.app.fail("Could not read the profile", exc)
            return
        self.app.call_from_thread(self._show_style, style)

    def _show_style(self, style) -> None:
        box = self.query_one("#profile-style", Static)
        if not style.emails:
            box.update("No email written by you yet, so no style profile. Check that the emails in your "
                       "config's [me] section match your From address (`assistant whoami`).")
            return
        lines = [f"From {style.emails} emails you sent, about {style.median_words} words each."]
        if style.greetings:
            lines.append("Greetings: " + ", ".join(f"“{g}” ×{n}" for g, n in style.greetings))
        if style.signoffs:
            lines.append("Sign-offs: " + ", ".join(f"“{' / '.join(s.splitlines())}” ×{n}"
                                                   for s, n in style.signoffs))
        per = style.per_100_words
        lines.append(f"Per 100 words: {per['em_dash']} em-dashes, {per['semicolon']} semicolons, "
                     f"{per['exclamation']} exclamation marks.")
        if style.phrases:
            lines.append("Phrases that set you apart: " + ", ".join(f"“{p}”" for p in style.phrases[:6]))
        box.update("\n".join(lines))
        table = self.query_one("#profile-people", DataTable)
        table.clear()
        for address, emails in style.correspondents:
            habits = style.by_correspondent.get(address, {})
            table.add_row(address, emails, habits.get("greeting", "—"),
                          " / ".join(habits.get("signoff", "—").splitlines()))

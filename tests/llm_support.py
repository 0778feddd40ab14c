"""A scripted `llm` model for the plugin tests, and a dist-info that makes `llm` load the plugins.

The model answers with the text it was given (system prompt and prompt, fragments
included), or, for a prompt `CALL tool {json}`, asks for that tool and then answers
with what the tool returned: the real `llm` chain runs the tool in between.
"""

from __future__ import annotations

import json
from pathlib import Path

import llm

ENTRY_POINTS = """[llm]
persona_assistant = assistant_plugins.llm_plugin
scripted = tests.llm_support
"""


def write_dist_info(folder: Path) -> Path:
    """A folder for PYTHONPATH whose dist-info lists the plugin under the `llm` entry-point group."""
    info = folder / "persona_assistant_llm_test-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: persona-assistant-llm-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return folder


class Scripted(llm.Model):
    model_id = "scripted"
    supports_tools = True

    def execute(self, prompt, stream, response, conversation):
        if prompt.tool_results:
            yield "".join(f"tool {result.name} said: {result.output}" for result in prompt.tool_results)
        elif prompt.prompt.startswith("CALL "):
            name, arguments = prompt.prompt[5:].split(" ", 1)
            response.add_tool_call(llm.ToolCall(name=name, arguments=json.loads(arguments)))
            yield ""
        else:
            yield f"SYSTEM: {prompt.system or ''}\nPROMPT: {prompt.prompt}"


@llm.hookimpl
def register_models(register):
    register(Scripted())

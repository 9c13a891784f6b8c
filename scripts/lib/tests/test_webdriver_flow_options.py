"""bench/worker/webdriver_flow.py's WORKER_CHROMIUM_ARGS/PREFS are a copy of the worker's browser options
(WebDriverClient.Configuration.defaultChromiumArguments/defaultChromiumPreferences in Swift), kept for the bench's
diagnostic run: read from the Swift source here, they must be the same, so the diagnostic never measures options the
worker no longer uses."""
import ast
import pathlib
import re
import sys
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench" / "worker"))
import webdriver_flow  # noqa: E402

SWIFT = ROOT / "Sources" / "BreakGlassConsole" / "WebDriver" / "WebDriverClient.swift"


def swift_literal(source, name):
    """The text of `name = [ ... ]` in the Swift source, string concatenations joined."""
    match = re.search(re.escape(name) + r"(?:: \[[^\]]*\])? = \[(.*?)\n\s*\]", source, re.S)
    if match is None:
        raise AssertionError(f"{name} not found in {SWIFT}")
    return re.sub(r'"\s*\+\s*"', "", match.group(1))


class WorkerOptionsTest(unittest.TestCase):
    def test_arguments_match_the_worker(self):
        text = swift_literal(SWIFT.read_text(), "defaultChromiumArguments")
        self.assertEqual(re.findall(r'"([^"]*)"', text), webdriver_flow.WORKER_CHROMIUM_ARGS)

    def test_preferences_match_the_worker(self):
        text = swift_literal(SWIFT.read_text(), "defaultChromiumPreferences")
        pairs = re.findall(r'"([^"]+)":\s*(true|false|-?\d+)', text)
        self.assertTrue(pairs)
        swift = {key: {"true": True, "false": False}.get(value) if value in ("true", "false") else ast.literal_eval(value)
                 for key, value in pairs}
        self.assertEqual(swift, webdriver_flow.WORKER_CHROMIUM_PREFS)


if __name__ == "__main__":
    unittest.main()

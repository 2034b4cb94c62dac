"""Tests the built `alltools` extension module from Debian's python3 (run by ctest; see CMakeLists.txt).

Needs PYTHONPATH=<build>/python and ALLTOOLS_TOKENIZER=<shared>/tokenizers/glm-4-9b-chat/tokenizer.model.
"""
import json
import os
import sys
import tempfile
import threading
import typing
import unittest
from typing import Annotated, Literal, Optional

import alltools

TOKENIZER = os.environ.get("ALLTOOLS_TOKENIZER", "")


class Unit(str, __import__("enum").Enum):
    C = "celsius"
    F = "fahrenheit"


class Decorator(unittest.TestCase):
    def setUp(self):
        alltools.clear_functions()

    def test_schema_from_hints_and_docstring(self):
        @alltools.function
        def get_weather(city_name: str, days: int = 1, unit: Unit = Unit.C,
                        detail: Optional[Literal["brief", "full"]] = None,
                        tags: list[str] = (), extra: Annotated[float, "a weight"] = 1.5) -> dict:
            """Get the current weather of a city.

            Args:
                city_name: The city, e.g. 北京.
                days (int): How many days,
                    from 1 to 7.
            """
            return {}

        specs = alltools.functions()
        self.assertEqual(len(specs), 1)
        spec = specs[0]
        self.assertEqual(list(spec.keys()), ["name", "description", "parameters"])
        self.assertEqual(spec["name"], "get_weather")
        self.assertEqual(spec["description"], "Get the current weather of a city.")
        p = spec["parameters"]
        self.assertEqual(p["type"], "object")
        self.assertEqual(p["required"], ["city_name"])
        props = p["properties"]
        self.assertEqual(list(props), ["city_name", "days", "unit", "detail", "tags", "extra"])
        self.assertEqual(props["city_name"], {"type": "string", "description": "The city, e.g. 北京."})
        self.assertEqual(props["days"], {"type": "integer", "description": "How many days, from 1 to 7.", "default": 1})
        self.assertEqual(props["unit"]["enum"], ["celsius", "fahrenheit"])
        self.assertEqual(props["detail"], {"type": "string", "enum": ["brief", "full"], "default": None})
        self.assertEqual(props["tags"], {"type": "array", "items": {"type": "string"}, "default": []})
        self.assertEqual(props["extra"], {"type": "number", "description": "a weight", "default": 1.5})

    def test_sphinx_docstring_and_explicit_name(self):
        @alltools.function(name="convert", description="Converts things.")
        def f(value: float, to: str):
            """Ignored first line.

            :param value: the amount
            :param to: target unit
            """
            return value

        spec = alltools.functions()[0]
        self.assertEqual(spec["name"], "convert")
        self.assertEqual(spec["description"], "Converts things.")
        self.assertEqual(spec["parameters"]["properties"]["value"]["description"], "the amount")
        self.assertEqual(spec["parameters"]["properties"]["to"]["description"], "target unit")

    def test_bad_declarations_raise(self):
        @alltools.function
        def once(x: int):
            return x

        with self.assertRaises(ValueError):
            alltools.function(once)
        with self.assertRaises(TypeError):
            @alltools.function
            def weird(x: complex):
                return x
        with self.assertRaises(ValueError):
            @alltools.function(name="python")
            def shadow():
                return 1


class Calls(unittest.TestCase):
    def setUp(self):
        alltools.clear_functions()

        @alltools.function
        def add(a: int, b: int) -> int:
            """Adds two integers."""
            return a + b

        @alltools.function
        def fail(reason: str):
            """Always raises."""
            raise ValueError("bad input: " + reason)

        @alltools.function
        def unserialisable():
            """Returns an object JSON cannot hold."""
            return object()

        @alltools.function
        def greet(name: str) -> str:
            """Returns text as is."""
            return f"你好, {name}"

    def test_valid_call(self):
        self.assertEqual(alltools.call("add", {"a": 2, "b": 40}), {"text": "42", "is_error": False})
        self.assertEqual(alltools.call("greet", {"name": "GLM"}), {"text": "你好, GLM", "is_error": False})

    def test_schema_violation_does_not_run(self):
        r = alltools.call("add", {"a": "two"})
        self.assertTrue(r["is_error"])
        self.assertIn("/a", r["text"])
        self.assertIn("b", r["text"])

    def test_exception_and_garbage_are_errors(self):
        r = alltools.call("fail", {"reason": "no"})
        self.assertTrue(r["is_error"])
        self.assertIn("ValueError: bad input: no", r["text"])
        r = alltools.call("unserialisable", {})
        self.assertTrue(r["is_error"])
        self.assertIn("not JSON-serialisable", r["text"])

    def test_calls_from_threads(self):
        results = []

        def worker(k):
            for i in range(20):
                results.append(alltools.call("add", {"a": k, "b": i})["text"] == str(k + i))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 80)
        self.assertTrue(all(results))


class AgentStep(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(TOKENIZER):
            self.fail(f"missing tokenizer {TOKENIZER!r} (set ALLTOOLS_TOKENIZER)")
        alltools.clear_functions()
        self.calls = []

        @alltools.function
        def get_weather(city_name: str) -> dict:
            """Get the current weather of a city.

            Args:
                city_name: the city
            """
            self.calls.append(city_name)
            return {"city": city_name, "weather": "晴", "temperature_c": 21}

    def test_scripted_model_calls_the_python_function(self):
        streamed = []
        with tempfile.TemporaryDirectory() as session:
            agent = alltools.Agent(
                tokenizer=TOKENIZER,
                script=['get_weather\n{"city_name": "北京"}', "\n北京今天晴，21°C。"],
                session_dir=session,
                on_event=lambda e: streamed.append(e))
            self.assertEqual(agent.tools, ["get_weather"])
            result = agent.run("北京天气怎么样？")
        self.assertEqual(self.calls, ["北京"])
        self.assertEqual(result["status"], "answer", result)
        self.assertEqual(result["answer"], "北京今天晴，21°C。")
        self.assertEqual(result["tool_calls"], 1)
        observations = [e for e in result["events"] if e["event"] == "observation"]
        self.assertEqual(len(observations), 1)
        self.assertIn('"weather":"晴"', json.dumps(observations[0], ensure_ascii=False).replace(" ", "").replace("\\", ""))
        self.assertTrue(any(e["event"] == "token" for e in streamed), "tokens are streamed to on_event")
        self.assertTrue(any(e["event"] == "tool_call" for e in streamed))

    def test_bad_call_comes_back_as_observation(self):
        agent = alltools.Agent(tokenizer=TOKENIZER,
                               script=['get_weather\n{"city": "北京"}', "\n参数错了。"])
        result = agent.run("天气？")
        self.assertEqual(self.calls, [])
        self.assertEqual(result["status"], "answer")
        obs = [e for e in result["events"] if e["event"] == "observation"][0]
        self.assertIn("city_name", json.dumps(obs, ensure_ascii=False))

    def test_agent_arguments_are_checked(self):
        with self.assertRaises(ValueError):
            alltools.Agent(tokenizer=TOKENIZER)
        with self.assertRaises(ValueError):
            alltools.Agent(tokenizer=TOKENIZER, script=[], functions=["nope"])
        with self.assertRaises(ValueError):
            alltools.Agent(tokenizer="/nonexistent/tokenizer.model", script=[])


if __name__ == "__main__":
    unittest.main(verbosity=2)

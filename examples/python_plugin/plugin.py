"""A Python plugin: `alltools run --plugin examples/python_plugin/plugin.py "..."`, or try it directly with
`alltools functions call text_stats '{"text": "..."}' --plugin examples/python_plugin/plugin.py`.

Each @alltools.function becomes a GLM-4 function: the schema comes from the type hints, the descriptions from
the docstring. Plugins run inside the runtime's process (trusted code).
"""
from typing import Literal

import alltools


@alltools.function
def text_stats(text: str, unit: Literal["words", "chars"] = "words") -> dict:
    """Counts the words or characters of a text.

    Args:
        text: The text to measure.
        unit: What to count.
    """
    count = len(text.split()) if unit == "words" else len(text)
    return {"unit": unit, "count": count}


@alltools.function
def bmi(weight_kg: float, height_m: float) -> dict:
    """Computes the body-mass index.

    Args:
        weight_kg: Body weight in kilograms.
        height_m: Height in metres.
    """
    if height_m <= 0:
        raise ValueError("height_m must be positive")
    value = weight_kg / (height_m * height_m)
    return {"bmi": round(value, 1)}

"""Synthetic GLM-4 All Tools dialogues (docs/glm4-protocol.md): one generator per task kind, English and Chinese.

Every dialogue is a list of messages (glm4_format.msg). Python observations are real: the generated code is run.
make_dialogue(rng, kind, docs, split) returns (messages, meta) where meta records what a scorer needs.
"""
import ast
import contextlib
import io
import json
import linecache
import math
import random
import re
import traceback

import corpus
import paraphrase
from glm4_format import BUILTINS, msg, system_prompt

# ---------------------------------------------------------------------------------------------- tool sets

def tool_setup(rng, needed, functions=()):
    """Built-ins shown in the system prompt: usually all three, sometimes a subset that still has `needed`."""
    if rng.random() < 0.9:
        builtins = list(BUILTINS)
    else:
        builtins = [b for b in BUILTINS if b == needed or rng.random() < 0.5]
    return builtins, list(functions)


def sort_keys(value):
    """The value with every object's keys sorted (what a JSON library with ordered maps, e.g. the C++ eval's task
    manifests, hands the runtime)."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def function_layout(aux, spec):
    """Function spec as shown in the system prompt: {name, description, parameters} with the schema's keys in the
    author's order or sorted (both reach the runtime)."""
    if aux is None or aux.random() < 0.5:
        return spec
    return {"name": spec["name"], "description": spec["description"], "parameters": sort_keys(spec["parameters"])}


def system(rng, builtins, functions, aux=None):
    hf_trim = rng.random() < 0.2
    if aux is not None:
        # the runtime never trims; layout variations come from the auxiliary rng so the eval suites stay as they are
        hf_trim = hf_trim and aux.random() < 0.3
        functions = [function_layout(aux, f) for f in functions]
    return msg("system", system_prompt(builtins, functions, hf_trim=hf_trim))


def run_python(code, cell=1):
    """Runs generated code and renders the observation the way the runtime's sandboxed `python` tool does
    (tools/python/python_tool.cc): stdout, then a full traceback of cell `<cell-N>` (source line and carets; for a cell
    that does not compile only the line, caret and SyntaxError, as sandbox/worker.py prints it), or the repr of a
    final expression; "(no output)" when there is nothing. Returns (text, ok)."""
    name = f"<cell-{cell}>"
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    out = io.StringIO()
    env = {"__name__": "__main__"}
    value, err = None, None
    try:
        tree = ast.parse(code, name)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        with contextlib.redirect_stdout(out):
            exec(compile(tree, name, "exec"), env)  # noqa: S102 - our own generated code
            if last is not None:
                value = eval(compile(ast.Expression(last.value), name, "eval"), env)  # noqa: S307
    except Exception as e:  # noqa: BLE001
        if isinstance(e, SyntaxError) and e.filename == name:
            # the sandbox worker shows a cell that does not compile the way the REPL does: line, caret, message
            err = "".join(traceback.format_exception_only(type(e), e))
        else:
            tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
            err = "".join(traceback.format_exception(type(e), e, tb))
    parts = [out.getvalue()]
    if err is not None:
        parts.append(err)
    elif value is not None:
        parts.append(repr(value))
    text = "\n".join(p.rstrip("\n") for p in parts if p.rstrip("\n"))
    return (text or "(no output)"), err is None


# ---------------------------------------------------------------------------------------------- math

EN_NAMES = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kate", "Liam"]
ZH_NAMES = ["小明", "小红", "小刚", "小丽", "小华", "小军", "小芳", "小强", "小雪", "小林", "小杰", "小宇"]
EN_NAMES_HELD = ["Mia", "Noah", "Olivia", "Peter", "Quinn", "Rosa", "Sam", "Tina", "Umar", "Wendy"]
ZH_NAMES_HELD = ["小云", "小海", "小兰", "小松", "小梅", "小峰", "小月", "小星", "小涛", "小娜"]
ITEMS = [("notebooks", "本笔记本", "本"), ("apples", "个苹果", "个"), ("pens", "支笔", "支"),
         ("tickets", "张票", "张"), ("books", "本书", "本"), ("cups", "个杯子", "个")]


MATH_TEMPLATES = 12  # the kinds of problem math_problem draws from (k below)


def math_problem(rng, lang, split, weights=None):
    """Returns (question, code, answer template with {r}). weights: {template k: weight} (others 1) to draw some
    kinds more often in training data (a curriculum); without it the draws are the ones the eval suites used."""
    names = (EN_NAMES if lang == "en" else ZH_NAMES) if split == "train" else (EN_NAMES_HELD if lang == "en" else ZH_NAMES_HELD)
    who = rng.choice(names)
    k = rng.randrange(MATH_TEMPLATES) if not weights else \
        rng.choices(range(MATH_TEMPLATES), [weights.get(i, 1.0) for i in range(MATH_TEMPLATES)])[0]
    R = rng.randint
    if k == 0:
        a, b, c = R(11, 999), R(2, 99), R(1, 999)
        op1, op2 = rng.choice(["+", "-", "*"]), rng.choice(["+", "-", "*"])
        expr = f"{a} {op1} {b} {op2} {c}"
        shown = expr.replace("*", "×") if lang == "zh" and rng.random() < 0.5 else expr
        q = rng.choice([f"What is {shown}?", f"Compute {shown}.", f"Calculate {shown} for me."]) if lang == "en" \
            else rng.choice([f"计算 {shown}", f"{shown} 等于多少？", f"帮我算一下 {shown}"])
        code = f"result = {expr}\nprint(result)"
        ans = "{expr} = {r}" if lang == "en" else "{expr} = {r}"
        return q, code, (f"{expr} = {{r}}." if lang == "en" else f"{expr} = {{r}}。")
    if k == 1:
        n, p, m = R(2, 30), R(2, 40), 0
        m = n * p + R(1, 200)
        it = rng.choice(ITEMS)
        if lang == "en":
            q = f"{who} buys {n} {it[0]} at {p} yuan each and pays with {m} yuan. How much change does {who} get?"
            a = f"{who} gets {{r}} yuan in change."
        else:
            q = f"{who}买了{n}{it[1]}，每{it[2]}{p}元，付了{m}元，应该找回多少钱？"
            a = f"应该找回 {{r}} 元。"
        return q, f"total = {n} * {p}\nchange = {m} - total\nprint(change)", a
    if k == 2:
        d, t = R(20, 900), R(2, 12)
        if lang == "en":
            q = f"A train travels {d} km in {t} hours. What is its average speed in km/h?"
            a = "The average speed is {r} km/h."
        else:
            q = f"一列火车{t}小时行驶了{d}公里，它的平均速度是每小时多少公里？"
            a = "平均速度是每小时 {r} 公里。"
        return q, f"speed = {d} / {t}\nprint(round(speed, 2))", a
    if k == 3:
        p, x = R(1, 95), R(20, 5000)
        q = f"What is {p}% of {x}?" if lang == "en" else f"{x} 的 {p}% 是多少？"
        a = f"{p}% of {x} is {{r}}." if lang == "en" else f"{x} 的 {p}% 是 {{r}}。"
        return q, f"result = {x} * {p} / 100\nprint(result)", a
    if k == 4:
        r = R(1, 60)
        q = f"What is the area of a circle with radius {r} cm? Round to two decimals." if lang == "en" \
            else f"半径为 {r} 厘米的圆面积是多少？保留两位小数。"
        a = "The area is {r} square centimeters." if lang == "en" else "圆的面积约为 {r} 平方厘米。"
        return q, f"import math\narea = math.pi * {r} ** 2\nprint(round(area, 2))", a
    if k == 5:
        n = R(10, 5000)
        q = f"What is the sum of the integers from 1 to {n}?" if lang == "en" else f"从 1 加到 {n} 的和是多少？"
        a = f"The sum from 1 to {n} is {{r}}." if lang == "en" else f"从 1 加到 {n} 的和是 {{r}}。"
        return q, f"total = sum(range(1, {n} + 1))\nprint(total)", a
    if k == 6:
        b, e = R(2, 13), R(2, 20)
        q = f"What is {b} to the power of {e}?" if lang == "en" else f"{b} 的 {e} 次方是多少？"
        a = f"{b} to the power of {e} is {{r}}." if lang == "en" else f"{b} 的 {e} 次方是 {{r}}。"
        return q, f"print({b} ** {e})", a
    if k == 7:
        x = R(2, 9999)
        q = f"What is the square root of {x}? Round to 4 decimals." if lang == "en" else f"{x} 的平方根是多少？保留四位小数。"
        a = f"The square root of {x} is about {{r}}." if lang == "en" else f"{x} 的平方根约为 {{r}}。"
        return q, f"import math\nprint(round(math.sqrt({x}), 4))", a
    if k == 8:
        nums = [R(1, 100) for _ in range(R(3, 7))]
        s = ", ".join(map(str, nums))
        q = f"What is the average of {s}?" if lang == "en" else f"{s} 的平均数是多少？"
        a = "The average is {r}." if lang == "en" else "平均数是 {r}。"
        return q, f"nums = [{s}]\nprint(sum(nums) / len(nums))", a
    if k == 9:
        n = R(3, 20)
        q = f"What is {n} factorial?" if lang == "en" else f"{n} 的阶乘是多少？"
        a = f"{n}! = {{r}}." if lang == "en" else f"{n} 的阶乘是 {{r}}。"
        return q, f"import math\nprint(math.factorial({n}))", a
    if k == 10:
        P, rate, y = R(1, 100) * 1000, R(1, 9), R(1, 30)
        if lang == "en":
            q = f"If I deposit {P} yuan at {rate}% annual interest compounded yearly, how much will I have after {y} years?"
            a = f"After {y} years you will have {{r}} yuan."
        else:
            q = f"本金 {P} 元，年利率 {rate}%，按年复利，{y} 年后本息合计多少？"
            a = f"{y} 年后本息合计约 {{r}} 元。"
        return q, f"amount = {P} * (1 + {rate} / 100) ** {y}\nprint(round(amount, 2))", a
    w, h = R(2, 300), R(2, 300)
    if lang == "en":
        q = f"A rectangle is {w} m long and {h} m wide. What are its area and perimeter?"
        return q, f"area = {w} * {h}\nperimeter = 2 * ({w} + {h})\nprint(area, perimeter)", \
            "The area is {r0} square meters and the perimeter is {r1} meters."
    q = f"一个长方形长 {w} 米，宽 {h} 米，它的面积和周长分别是多少？"
    return q, f"area = {w} * {h}\nperimeter = 2 * ({w} + {h})\nprint(area, perimeter)", "面积是 {r0} 平方米，周长是 {r1} 米。"


def math_problem_extra(rng, lang):
    """More word problems (training only; the held-out suite uses math_problem): more ways a task's numbers must be
    copied into the code. Returns (question, code, answer template)."""
    R = rng.randint
    en = lang == "en"
    k = rng.randrange(10)
    if k == 0:
        p, d = R(20, 2000), rng.choice([5, 10, 15, 20, 25, 30, 40, 50])
        q = f"A jacket costs {p} yuan and is {d}% off. What is the sale price?" if en else f"一件外套原价 {p} 元，打 {100 - d}% 的价格出售（优惠 {d}%），现价多少元？"
        return q, f"price = {p} * (1 - {d} / 100)\nprint(round(price, 2))", ("The sale price is {r} yuan." if en else "现价是 {r} 元。")
    if k == 1:
        a, b = R(100, 99999), R(2, 97)
        q = f"What is {a} divided by {b}, with the remainder?" if en else f"{a} 除以 {b} 的商和余数是多少？"
        return q, f"q, r = divmod({a}, {b})\nprint(q, r)", ("The quotient is {r0} and the remainder is {r1}." if en else "商是 {r0}，余数是 {r1}。")
    if k == 2:
        c = R(-40, 120)
        q = f"Convert {c} degrees Celsius to Fahrenheit." if en else f"{c} 摄氏度等于多少华氏度？"
        return q, f"f = {c} * 9 / 5 + 32\nprint(f)", (f"{c} °C is {{r}} °F." if en else f"{c} 摄氏度等于 {{r}} 华氏度。")
    if k == 3:
        a, b = R(2, 500), R(2, 500)
        q = f"What are the greatest common divisor and least common multiple of {a} and {b}?" if en else f"{a} 和 {b} 的最大公约数和最小公倍数是多少？"
        return q, f"import math\ng = math.gcd({a}, {b})\nl = {a} * {b} // g\nprint(g, l)", \
            ("The GCD is {r0} and the LCM is {r1}." if en else "最大公约数是 {r0}，最小公倍数是 {r1}。")
    if k == 4:
        old, new = R(10, 5000), R(10, 5000)
        q = f"A price went from {old} to {new}. What is the percentage change?" if en else f"价格从 {old} 变成了 {new}，变化了百分之多少？"
        return q, f"change = ({new} - {old}) / {old} * 100\nprint(round(change, 2))", \
            ("The percentage change is {r}%." if en else "变化了 {r}%。")
    if k == 5:
        s = R(2, 400)
        q = f"A square has sides of {s} cm. What are its area and perimeter?" if en else f"正方形边长 {s} 厘米，面积和周长各是多少？"
        return q, f"area = {s} ** 2\nperimeter = 4 * {s}\nprint(area, perimeter)", \
            ("The area is {r0} square centimeters and the perimeter is {r1} cm." if en else "面积是 {r0} 平方厘米，周长是 {r1} 厘米。")
    if k == 6:
        km = R(1, 2000)
        q = f"How many miles is {km} km?" if en else f"{km} 公里是多少英里？"
        return q, f"miles = {km} / 1.609344\nprint(round(miles, 3))", (f"{km} km is about {{r}} miles." if en else f"{km} 公里约等于 {{r}} 英里。")
    if k == 7:
        a, b, c = R(2, 60), R(2, 60), R(2, 60)
        who = rng.choice(EN_NAMES + EN_NAMES_HELD) if en else rng.choice(ZH_NAMES + ZH_NAMES_HELD)
        q = f"{who} read {a} pages on Monday, {b} on Tuesday and {c} on Wednesday. How many pages in total?" if en \
            else f"{who}周一读了 {a} 页，周二读了 {b} 页，周三读了 {c} 页，一共读了多少页？"
        return q, f"total = {a} + {b} + {c}\nprint(total)", ("That is {r} pages in total." if en else "一共读了 {r} 页。")
    if k == 8:
        P, rate, y = R(1, 200) * 500, R(1, 12), R(1, 20)
        q = f"What is the simple interest on {P} yuan at {rate}% per year for {y} years?" if en else f"{P} 元按年利率 {rate}% 单利存 {y} 年，利息是多少？"
        return q, f"interest = {P} * {rate} / 100 * {y}\nprint(interest)", ("The interest is {r} yuan." if en else "利息是 {r} 元。")
    n = R(2, 40)
    x = [R(1, 999) for _ in range(n if n < 8 else 8)]
    s = ", ".join(map(str, x))
    q = f"What are the largest and smallest of {s}?" if en else f"{s} 中最大和最小的数分别是多少？"
    return q, f"nums = [{s}]\nprint(max(nums), min(nums))", ("The largest is {r0} and the smallest is {r1}." if en else "最大的是 {r0}，最小的是 {r1}。")


def fill_answer(template, out):
    parts = out.split()
    return template.format(r=out, r0=parts[0], r1=parts[-1])


def draw_math(rng, lang, split, ctx):
    if ctx.get("aux") is not None and ctx["aux"].random() < 0.3:
        return math_problem_extra(rng, lang)
    return math_problem(rng, lang, split, ctx.get("math_weights"))


def two_questions(aux, lang, first, second):
    """Two tasks in one message (training only): one cell computes both, the answer quotes both printed lines."""
    (q1, c1, a1), (q2, c2, a2) = first, second
    if not q1.endswith(("?", ".", "!", "？", "。", "！")):
        q1 += "." if lang == "en" else "。"
    joiner = aux.choice([" Also, ", " And ", " Second question: ", " Then: "]) if lang == "en" else \
        aux.choice(["另外，", "还有，", "顺便问一下，", "第二个问题："])
    q2 = q2[:1].lower() + q2[1:] if lang == "en" and joiner.endswith(("Also, ", "And ")) else q2
    return q1 + joiner + q2, c1 + "\n" + c2, (a1, a2)


def dlg_math(rng, lang, split, ctx):
    aux = ctx.get("aux")
    q, code, ans = draw_math(rng, lang, split, ctx)
    if aux is not None and aux.random() < 0.08:
        q, code, ans = two_questions(aux, lang, (q, code, ans), math_problem_extra(aux, lang))
    if aux is not None and aux.random() < 0.5:
        q = paraphrase.compose(aux, q, lang)
    builtins, fns = tool_setup(rng, "python", ctx["functions"](rng))
    out, ok = run_python(code)
    assert ok, code
    msgs = [system(rng, builtins, fns, ctx.get("aux")), msg("user", q)]
    if isinstance(ans, tuple):
        lines = out.split("\n")
        join = " " if lang == "en" else ""
        msgs += [msg("assistant", code, "python"), msg("observation", out),
                 msg("assistant", fill_answer(ans[0], lines[0]) + join + fill_answer(ans[1], lines[-1]))]
        return msgs, {"tool": "python", "answer": out}
    if rng.random() < 0.08:
        # stateful notebook: the first cell only assigns, so it prints nothing; the model prints the value next.
        lines = code.split("\n")
        head = "\n".join(lines[:-1]) if lines[-1].startswith("print(") else code
        if head != code:
            msgs += [msg("assistant", head, "python"), msg("observation", run_python(head)[0]),
                     msg("assistant", lines[-1], "python"), msg("observation", out)]
        else:
            msgs += [msg("assistant", code, "python"), msg("observation", out)]
    else:
        msgs += [msg("assistant", code, "python"), msg("observation", out)]
    msgs.append(msg("assistant", fill_answer(ans, out)))
    return msgs, {"tool": "python", "answer": out}


def dlg_divzero(rng, lang, split, ctx):
    a = rng.randint(1, 999)
    q = f"What is {a} divided by 0?" if lang == "en" else f"{a} 除以 0 等于多少？"
    code = f"print({a} / 0)"
    out, _ = run_python(code)
    ans = ("Division by zero is undefined, so {a} / 0 has no numeric value (Python raises ZeroDivisionError)."
           if lang == "en" else "除数不能为 0，所以 {a} / 0 没有数值结果（Python 报错 ZeroDivisionError）。").format(a=a)
    builtins, fns = tool_setup(rng, "python", ctx["functions"](rng))
    return [system(rng, builtins, fns, ctx.get("aux")), msg("user", q), msg("assistant", code, "python"), msg("observation", out),
            msg("assistant", ans)], {"tool": "python"}


# ---------------------------------------------------------------------------------------------- error recovery

ATTR_TYPOS = {"math.sqrt": "math.sqroot", "math.factorial": "math.factorail", "math.gcd": "math.gdc",
              "math.pi": "math.PI", "divmod(": "div_mod(", "round(": "rond(", "sum(": "summ("}


def _misspell(aux, word):
    i = aux.randrange(1, len(word)) if len(word) > 1 else 1
    return word[:i] + word[i:][1:] if len(word) > 2 and aux.random() < 0.5 else word[:i] + word[i - 1:]


def break_code(aux, code):
    """A realistic first attempt that fails: (broken code) or None if no bug of the drawn kind fits this code.
    Kinds: a misspelt variable (NameError), an unclosed bracket (SyntaxError), a missing import (NameError), a wrong
    function or attribute name (AttributeError/NameError), a stray indent (IndentationError), str + number
    (TypeError)."""
    lines = code.split("\n")
    kind = aux.choice(["name", "paren", "import", "attr", "indent", "concat"])
    if kind == "name":
        assigned = [l.split(" = ")[0] for l in lines if re.match(r"^[a-z_]+ = ", l)]
        last = lines[-1]
        used = [v for v in assigned if re.search(rf"\b{v}\b", last)]
        if not used or not last.startswith("print("):
            return None
        v = aux.choice(used)
        bad = _misspell(aux, v)
        if bad == v or bad in assigned:
            return None
        lines[-1] = re.sub(rf"\b{v}\b", bad, last, count=1)
    elif kind == "paren":
        if not lines[-1].endswith(")"):
            return None
        lines[-1] = lines[-1][:-1]
    elif kind == "import":
        if lines[0] != "import math":
            return None
        lines = lines[1:]
    elif kind == "attr":
        hits = [k for k in ATTR_TYPOS if k in code]
        if not hits:
            return None
        k = aux.choice(hits)
        return code.replace(k, ATTR_TYPOS[k], 1)
    elif kind == "indent":
        if len(lines) < 2:
            return None
        i = aux.randrange(1, len(lines))
        if lines[i].startswith(" ") or not lines[i]:
            return None
        lines[i] = "    " + lines[i]
    else:
        m = re.match(r"^print\((\w+)\)$", lines[-1])
        if not m:
            return None
        lines[-1] = f'print("Result: " + {m.group(1)})'
    return "\n".join(lines)


TRANSIENT = ["service temporarily unavailable, please try again", "upstream timed out, retry the request",
             "rate limited: too many requests, try again", "connection reset by peer", "503 Service Unavailable",
             "服务暂时不可用，请重试", "网络超时，请稍后重试"]


def dlg_recovery(rng, lang, split, ctx):
    """The first call fails and the right move is to fix it and try again: python code with a bug → the sandbox's
    traceback → the corrected cell → the answer quoting its output; a user function that fails transiently (what
    the runtime shows for an executable that exits non-zero) → the same call again → the answer; or a call of a
    function that does not exist → the runtime's "unknown tool" list → the right function. Broken first attempts
    are shown, not taught (train=False)."""
    aux = ctx.get("aux") or rng
    r = aux.random()
    if r < 0.35:
        fams = rng.sample(FAMILIES, rng.randint(1, 3))
        made = [f(rng, lang) for f in fams]
        t = rng.randrange(len(made))
        spec, q, args, result, ans = made[t]
        functions = [m[0] for m in made]
        call = json.dumps(args, ensure_ascii=False)
        system_msg = system(rng, list(BUILTINS), functions, ctx.get("aux"))
        user = msg("user", paraphrase.compose(aux, q, lang, "function"))
        ok = [msg("assistant", call, spec["name"]), msg("observation", function_result_text(ctx.get("aux"), result)),
              msg("assistant", ans)]
        if r < 0.2:
            # transient failure of an executable function (what the runtime shows for exit status 1): call again
            failure = f"Error: `{spec['name']}` failed: the process exited with status 1: {aux.choice(TRANSIENT)}"
            first = [msg("assistant", call, spec["name"]), msg("observation", failure)]
        else:
            # a call of a function that does not exist (the runtime's parse error lists the tools): call the real one
            wrong = fn_name(aux, FAMILY_NOUNS[fams[t].__name__[len("family_"):]])  # a plausible name, not the real one
            names = list(BUILTINS) + [f["name"] for f in functions]
            if wrong in names:
                wrong += "_x"
            first = [msg("assistant", call, wrong, train=False),
                     msg("observation", f"unknown tool '{wrong}'; available tools: {', '.join(names)}")]
        return [system_msg, user] + first + ok, {"tool": spec["name"]}
    for _ in range(20):
        q, code, ans = draw_math(rng, lang, split, ctx)
        broken = break_code(aux, code)
        if broken is None:
            continue
        bad_out, bad_ok = run_python(broken, cell=1)
        if bad_ok:
            continue
        out, ok = run_python(code, cell=2)
        assert ok, code
        builtins, fns = tool_setup(rng, "python", ctx["functions"](rng))
        msgs = [system(rng, builtins, fns, ctx.get("aux")), msg("user", paraphrase.compose(aux, q, lang)),
                msg("assistant", broken, "python", train=False), msg("observation", bad_out),
                msg("assistant", code, "python"), msg("observation", out),
                msg("assistant", fill_answer(ans, out))]
        return msgs, {"tool": "python", "answer": out}
    raise RuntimeError("no breakable math problem in 20 draws")


# ---------------------------------------------------------------------------------------------- plots

CURVES = [("sin(x)", "np.sin(x)", "正弦函数"), ("cos(x)", "np.cos(x)", "余弦函数"), ("x^2", "x ** 2", "二次函数"),
          ("e^x", "np.exp(x)", "指数函数"), ("x^3 - 2x", "x ** 3 - 2 * x", "三次函数"), ("sqrt(x)", "np.sqrt(x)", "平方根函数"),
          ("log(x + 1)", "np.log(x + 1)", "对数函数"), ("2x + 1", "2 * x + 1", "一次函数")]
BAR_LABELS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "North", "South", "East", "West", "Q1", "Q2", "Q3", "Q4"]
BAR_LABELS_ZH = ["周一", "周二", "周三", "周四", "周五", "一月", "二月", "三月", "四月", "甲", "乙", "丙", "丁"]


def dlg_plot(rng, lang, split, ctx):
    builtins, fns = tool_setup(rng, "python", ctx["functions"](rng))
    if rng.random() < 0.65:
        name, expr, zh = rng.choice(CURVES)
        a = rng.randint(0, 5)
        b = a + rng.randint(2, 20)
        q = rng.choice([f"Plot y = {name} for x from {a} to {b}.", f"Draw a graph of {name} between {a} and {b}."]) \
            if lang == "en" else rng.choice([f"画出 y = {name} 在 {a} 到 {b} 之间的图像", f"请绘制{zh} y = {name}，x 从 {a} 到 {b}"])
        code = (f"import numpy as np\nimport matplotlib.pyplot as plt\n\nx = np.linspace({a}, {b}, 200)\n"
                f"y = {expr}\nplt.plot(x, y)\nplt.title(\"y = {name}\")\nplt.xlabel(\"x\")\nplt.ylabel(\"y\")\nplt.grid(True)\nplt.show()")
        ans = f"Here is the plot of y = {name} for x from {a} to {b}." if lang == "en" \
            else f"这是 y = {name} 在 {a} 到 {b} 之间的图像。"
    else:
        labels = rng.sample(BAR_LABELS_EN if lang == "en" else BAR_LABELS_ZH, rng.randint(3, 5))
        vals = [rng.randint(1, 99) for _ in labels]
        pairs = ", ".join(f"{l} {v}" for l, v in zip(labels, vals))
        q = f"Make a bar chart of these sales: {pairs}." if lang == "en" else f"用柱状图展示这些销量：{pairs}"
        code = (f"import matplotlib.pyplot as plt\n\nlabels = {json.dumps(labels, ensure_ascii=False)}\n"
                f"values = {vals}\nplt.bar(labels, values)\nplt.title(\"Sales\")\nplt.show()")
        best = labels[vals.index(max(vals))]
        ans = f"Here is the bar chart. {best} has the highest sales ({max(vals)})." if lang == "en" \
            else f"柱状图已经画好了，{best} 的销量最高（{max(vals)}）。"
    return [system(rng, builtins, fns, ctx.get("aux")), msg("user", q), msg("assistant", code, "python"), msg("observation", "[Image]"),
            msg("assistant", ans)], {"tool": "python"}


# ---------------------------------------------------------------------------------------------- research

# The runtime's local search (tools/browser/local_search.cc + browser_tool.cc), which is what the model sees when it
# runs: up to 10 BM25-ranked results, each ` # 【i†title†local】` (the title of a .md page is its file name) and a
# snippet (the best prose paragraph, whitespace collapsed, cut at 300 bytes with "…"); mclick pages come back as
# `quote_result [k†source]` with k counting on from the length of the result list.

def _cut_utf8(s, max_bytes):
    b = s.encode()
    if len(b) <= max_bytes:
        return s
    n = max_bytes
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n].decode() + "…"


def snippet(doc):
    paras = doc["text"].split("\n\n")
    prose = [p for p in paras if not p.startswith(("#", "```", "|")) and p.strip(" \n#-*|`")]
    best = (prose or paras)[0]
    return _cut_utf8(" ".join(best.lstrip("#").split()), 300)


def search_terms(text):
    """Lower-cased words and digits, CJK characters and CJK bigrams (the local index's tokens)."""
    text = text.lower()
    terms = re.findall(r"[a-z0-9]+", text)
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        terms += list(run) + [run[i:i + 2] for i in range(len(run) - 1)]
    return terms


def _doc_terms(d):
    """(term counts, length) of a page, cached in the document dict."""
    if "_tf" not in d:
        t = search_terms(d["text"])
        tf = {}
        for w in t:
            tf[w] = tf.get(w, 0) + 1
        d["_tf"] = (tf, len(t))
    return d["_tf"]


def bm25_rank(query, docs, k1=1.2, b=0.75):
    """docs ranked by BM25 against the query over this candidate pool (documents with no query term dropped)."""
    q = set(search_terms(query))
    tfs = [_doc_terms(d) for d in docs]
    avg = sum(n for _, n in tfs) / max(1, len(tfs))
    df = {w: sum(1 for tf, _ in tfs if w in tf) for w in q}
    scored = []
    for i, (d, (tf, n)) in enumerate(zip(docs, tfs)):
        s = 0.0
        for w in q:
            f = tf.get(w, 0)
            if f:
                idf = math.log(1 + (len(docs) - df[w] + 0.5) / (df[w] + 0.5))
                s += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * n / avg))
        if s > 0:
            scored.append((-s, i, d))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [d for _, _, d in scored]


def search_observation(results, labels):
    if not results:
        return None
    lines = [f" # 【{i}†{labels[i]}†local】\n{snippet(d)}" for i, d in enumerate(results)]
    return "\n".join(lines) + "\nVisible: 0% - 100%"


def research_pool(rng, ctx, lang):
    """(target, candidates): usually a fresh document (names repeat with other facts, so answers must be read from the
    page, not remembered), sometimes one of the shipped corpus pages."""
    pool = ctx.get("virtual_docs") or []
    if pool and rng.random() < 0.8:
        same = pool[lang]
        target = rng.choice(same)
        others = [d for d in rng.sample(same, min(40, len(same))) if d["name"] != target["name"]]
        return target, others
    same = [d for d in ctx["docs"] if d["lang"] == lang]
    target = rng.choice(same)
    return target, [d for d in same if d is not target]


def dlg_research(rng, lang, split, ctx):
    target, others = research_pool(rng, ctx, lang)
    fact = rng.choice(sorted(target["facts"]))
    q, ans, kw = corpus.question(target, fact)
    if ctx.get("aux") is not None and ctx["aux"].random() < 0.4:
        q = paraphrase.compose(ctx["aux"], q, lang, "research", names=(target["name"],))
    builtins, fns = tool_setup(rng, "simple_browser", ctx["functions"](rng))
    msgs = [system(rng, builtins, fns, ctx.get("aux")), msg("user", q)]
    query = f"{target['name']} {kw}"
    msgs.append(msg("assistant", f'search("{query}")', "simple_browser"))
    r = rng.random()
    if r < 0.03:
        msgs.append(msg("observation", "search: no search provider is configured (SearXNG, Brave or a local index); "
                        "open_url still works", "system_error"))
        msgs.append(msg("assistant", "I could not search the documents: no local index is configured. Please build it with `alltools index build` and ask again."
                        if lang == "en" else "无法搜索文档：没有配置本地索引。请先用 `alltools index build` 建立索引后再问我。"))
        return msgs, {"tool": "simple_browser"}
    missing = r < 0.07
    pool = others if missing else [target] + others
    results = bm25_rank(query, pool)[:10]
    if not missing:
        # the page that holds the answer is usually the top hit; sometimes lower down
        results.remove(target)
        pos = 0 if rng.random() < 0.75 else min(len(results), rng.choice([1, 1, 2, 2, 3, 4, 6]))
        results.insert(pos, target)
        results = results[:10]
    if rng.random() < 0.15:
        results = results[:rng.randint(3, 9)] if missing or results.index(target) < 3 else results
    used = set()
    labels = []
    for d in results:
        if rng.random() < 0.15:
            labels.append(d["title"])
        else:
            p = d["path"] if d["path"] not in used else f"doc{rng.randrange(300):03d}.md"
            while p in used:
                p = f"doc{rng.randrange(300):03d}.md"
            used.add(p)
            labels.append(p)
    obs = search_observation(results, labels)
    if obs is None:
        msgs.append(msg("observation", f'No results for "{query}".\nVisible: 0% - 100%', "browser_result"))
    else:
        msgs.append(msg("observation", obs, "browser_result"))
    if missing:
        # the search found nothing about it: say so instead of inventing an answer
        msgs.append(msg("assistant", f"The documents I searched do not mention {target['name']}, so I cannot answer this."
                        if lang == "en" else f"我搜索的文档中没有关于{target['name']}的信息，无法回答这个问题。"))
        return msgs, {"tool": "simple_browser"}
    pos = results.index(target)
    clicked = list(range(min(3, len(results))))
    if pos not in clicked:
        clicked.append(pos)
    msgs.append(msg("assistant", f"mclick({clicked})", "simple_browser"))
    k0 = len(results)  # quote ids continue after the list's ids
    cite = None
    for j, idx in enumerate(clicked):
        d = results[idx]
        msgs.append(msg("observation", d["text"], f"quote_result [{k0 + j}†source]"))
        if d is target:
            cite = k0 + j
    if lang == "en":
        answer = f"{ans}【{cite}†source】."
    else:
        answer = f"{ans}【{cite}†source】。"
    msgs.append(msg("assistant", answer))
    return msgs, {"tool": "simple_browser", "cite": cite, "answer": target["facts"][fact], "doc": target["id"]}


# ---------------------------------------------------------------------------------------------- cogview

SUBJECTS = [("a red fox", "一只红狐狸"), ("a small cat", "一只小猫"), ("an old lighthouse", "一座古老的灯塔"),
            ("a panda eating bamboo", "一只吃竹子的熊猫"), ("a sailing boat", "一艘帆船"), ("a cherry tree", "一棵樱花树"),
            ("a mountain village", "一个山村"), ("a white horse", "一匹白马"), ("a wooden house", "一座木屋"),
            ("a bowl of noodles", "一碗面条"), ("a robot", "一个机器人"), ("two children flying a kite", "两个放风筝的孩子"),
            ("a golden dragon", "一条金色的龙"), ("a steam train", "一列蒸汽火车"), ("a bookstore", "一家书店"),
            ("an owl", "一只猫头鹰")]
SETTINGS = [("in the snow", "在雪地里", "covered with fresh white snow under a pale winter sky"),
            ("by the sea", "在海边", "with gentle waves and a wide blue horizon behind it"),
            ("at sunset", "在日落时", "lit by warm orange and pink light as the sun goes down"),
            ("in a forest", "在森林里", "surrounded by tall green trees and soft rays of light"),
            ("on a rainy street", "在下雨的街道上", "with wet reflections on the road and glowing street lamps"),
            ("under the stars", "在星空下", "beneath a clear night sky full of bright stars"),
            ("in a spring garden", "在春天的花园里", "among blooming flowers and fresh green leaves"),
            ("on a misty lake", "在雾气笼罩的湖面上", "with soft mist drifting over calm water")]
STYLES = [("watercolor painting", "水彩画", "soft watercolor textures and light washes of color"),
          ("oil painting", "油画", "rich oil paint brushstrokes and deep colors"),
          ("photo", "照片", "realistic photographic detail and natural lighting"),
          ("ink painting", "水墨画", "traditional Chinese ink wash style with elegant brush lines"),
          ("cartoon illustration", "卡通插画", "bright colors, clean outlines and a playful cartoon style"),
          ("pencil sketch", "铅笔素描", "fine pencil lines and gentle shading on white paper")]


def dlg_cogview(rng, lang, split, ctx):
    s, st, sty = rng.choice(SUBJECTS), rng.choice(SETTINGS), rng.choice(STYLES)
    if lang == "en":
        q = rng.choice([f"Draw {s[0]} {st[0]}, as a {sty[0]}.", f"Generate an image of {s[0]} {st[0]} in {sty[0]} style.",
                        f"Please create a {sty[0]} of {s[0]} {st[0]}."])
        ans = f"Here is a {sty[0]} of {s[0]} {st[0]}."
    else:
        q = rng.choice([f"画一幅{sty[1]}：{st[1]}的{s[1]}", f"帮我生成一张{st[1]}的{s[1]}的图片，{sty[1]}风格",
                        f"请画{s[1]}，{st[1]}，用{sty[1]}的风格"])
        ans = f"已经为你生成了一幅{sty[1]}：{st[1]}的{s[1]}。"
    prompt = (f"A {sty[0]} of {s[0]} {st[0]}, {st[2]}. The image is drawn with {sty[2]}. "
              f"The composition is balanced and detailed, with {s[0]} as the clear center of attention.")
    builtins, fns = tool_setup(rng, "cogview", ctx["functions"](rng))
    return [system(rng, builtins, fns, ctx.get("aux")), msg("user", q), msg("assistant", prompt, "cogview"),
            msg("observation", "CogView 已经生成并向用户展示了生成的图片。", "cogview_result"), msg("assistant", ans)], \
        {"tool": "cogview"}


# ---------------------------------------------------------------------------------------------- user functions

VERBS = ["get", "query", "fetch", "lookup", "check", "find", "retrieve", "read", "load", "request"]
PREFIXES = ["", "", "", "", "acme_", "my_", "api_", "corp_", "app_", "svc_"]
SUFFIXES = ["", "", "", "_info", "_v2", "_now", "_data", "_api", "_tool", "_service"]
CITIES = [("Paris", "巴黎"), ("Tokyo", "东京"), ("Beijing", "北京"), ("Cairo", "开罗"), ("Lima", "利马"),
          ("Oslo", "奥斯陆"), ("Sydney", "悉尼"), ("Shanghai", "上海"), ("Berlin", "柏林"), ("Bangkok", "曼谷"),
          ("Madrid", "马德里"), ("Seoul", "首尔"), ("Rome", "罗马"), ("Hangzhou", "杭州"), ("Toronto", "多伦多"),
          ("Nairobi", "内罗毕")]
CONDITIONS = [("sunny", "晴"), ("cloudy", "多云"), ("rainy", "有雨"), ("snowy", "有雪"), ("windy", "有风")]
CURRENCIES = ["USD", "EUR", "CNY", "JPY", "GBP", "KRW"]


def fn_name(rng, nouns):
    return rng.choice(PREFIXES) + rng.choice(VERBS) + "_" + rng.choice(nouns) + rng.choice(SUFFIXES)


def family_weather(rng, lang):
    p = rng.choice(["city", "city_name", "location", "place"])
    spec = {"name": fn_name(rng, ["weather", "current_weather", "forecast", "weather_report"]),
            "description": rng.choice(["Get the current weather for a city", "查询指定城市的实时天气"]),
            "parameters": {"type": "object", "properties": {p: {"type": "string", "description": rng.choice(["city name", "城市名称"])}},
                           "required": [p]}}
    c = rng.choice(CITIES)
    city = c[0] if lang == "en" else c[1]
    cond = rng.choice(CONDITIONS)
    t = rng.randint(-15, 39)
    q = rng.choice([f"What's the weather like in {city}?", f"How is the weather in {city} today?"]) if lang == "en" \
        else rng.choice([f"{city}今天天气怎么样？", f"帮我查一下{city}的天气"])
    args = {p: city}
    result = {"city": city, "temperature": t, "condition": cond[0] if lang == "en" else cond[1]}
    ans = f"It is {cond[0]} in {city} right now, {t}°C." if lang == "en" else f"{city}现在{cond[1]}，气温 {t}°C。"
    return spec, q, args, result, ans


def family_stock(rng, lang):
    p = rng.choice(["symbol", "ticker", "stock_code", "code"])
    spec = {"name": fn_name(rng, ["stock_price", "stock_quote", "share_price", "stock"]),
            "description": rng.choice(["Get the latest stock price for a ticker symbol", "获取股票的最新价格"]),
            "parameters": {"type": "object", "properties": {p: {"type": "string"}}, "required": [p]}}
    sym = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 4)))
    price = round(rng.uniform(3, 900), 2)
    q = f"What is the current price of {sym} stock?" if lang == "en" else f"{sym} 的股价现在是多少？"
    return spec, q, {p: sym}, {"symbol": sym, "price": price, "currency": "USD"}, \
        (f"{sym} is trading at {price} USD." if lang == "en" else f"{sym} 当前股价为 {price} 美元。")


def family_currency(rng, lang):
    names = rng.choice([("amount", "from_currency", "to_currency"), ("amount", "source", "target"),
                        ("value", "from", "to"), ("money", "base", "quote")])
    spec = {"name": fn_name(rng, ["currency_conversion", "exchange", "convert_currency", "fx_rate"]),
            "description": rng.choice(["Convert an amount between two currencies", "货币换算"]),
            "parameters": {"type": "object", "properties": {names[0]: {"type": "number"}, names[1]: {"type": "string"},
                                                            names[2]: {"type": "string"}}, "required": list(names)}}
    a = rng.randint(1, 5000)
    x, y = rng.sample(CURRENCIES, 2)
    res = round(a * rng.uniform(0.05, 9), 2)
    q = f"Convert {a} {x} to {y}." if lang == "en" else f"把 {a} {x} 换算成 {y}"
    return spec, q, {names[0]: a, names[1]: x, names[2]: y}, {"amount": a, "from": x, "to": y, "result": res}, \
        (f"{a} {x} is {res} {y}." if lang == "en" else f"{a} {x} 约等于 {res} {y}。")


def family_order(rng, lang):
    p = rng.choice(["order_id", "order_number", "id", "tracking_id"])
    spec = {"name": fn_name(rng, ["order_status", "order", "shipment", "delivery_status"]),
            "description": rng.choice(["Look up the status of an order", "查询订单状态"]),
            "parameters": {"type": "object", "properties": {p: {"type": "string"}}, "required": [p]}}
    oid = f"{rng.choice('ABCDEFGHKMNPRSTXZ')}{rng.randint(10000, 99999)}"
    st = rng.choice([("shipped", "已发货"), ("delivered", "已送达"), ("processing", "处理中")])
    eta = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    q = rng.choice([f"Where is my order {oid}?", f"What is the status of order {oid}?"]) if lang == "en" \
        else f"我的订单 {oid} 现在是什么状态？"
    return spec, q, {p: oid}, {"order_id": oid, "status": st[0] if lang == "en" else st[1], "eta": eta}, \
        (f"Order {oid} is {st[0]}; expected arrival {eta}." if lang == "en" else f"订单 {oid} {st[1]}，预计 {eta} 送达。")


def family_time(rng, lang):
    p = rng.choice(["city", "timezone", "location", "zone"])
    spec = {"name": fn_name(rng, ["local_time", "current_time", "time", "clock"]),
            "description": rng.choice(["Get the current local time in a city", "获取某个城市的当前时间"]),
            "parameters": {"type": "object", "properties": {p: {"type": "string"}}, "required": [p]}}
    c = rng.choice(CITIES)
    city = c[0] if lang == "en" else c[1]
    tm = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    q = f"What time is it in {city} now?" if lang == "en" else f"{city}现在几点了？"
    return spec, q, {p: city}, {"city": city, "time": tm}, \
        (f"It is {tm} in {city} now." if lang == "en" else f"{city}现在是 {tm}。")


def family_contact(rng, lang):
    p = rng.choice(["name", "person", "user_name", "contact"])
    spec = {"name": fn_name(rng, ["email", "contact", "user_email", "employee_email"]),
            "description": rng.choice(["Find the email address of a colleague", "查询同事的邮箱地址"]),
            "parameters": {"type": "object", "properties": {p: {"type": "string"}}, "required": [p]}}
    first = rng.choice(corpus.EN_FIRST)
    last = rng.choice(corpus.EN_LAST)
    who = f"{first} {last}"
    email = f"{first.lower()}.{last.lower()}@example.com"
    q = f"What is {who}'s email address?" if lang == "en" else f"{who} 的邮箱是什么？"
    return spec, q, {p: who}, {"name": who, "email": email}, \
        (f"{who}'s email address is {email}." if lang == "en" else f"{who} 的邮箱是 {email}。")


FAMILIES = [family_weather, family_stock, family_currency, family_order, family_time, family_contact]


def random_functions(rng, lang, k):
    return [rng.choice(FAMILIES)(rng, lang)[0] for _ in range(k)]


FAMILY_NOUNS = {"weather": ["weather", "current_weather", "forecast", "weather_report", "temperature", "climate"],
                "stock": ["stock_price", "stock_quote", "share_price", "stock", "ticker_price", "equity_quote"],
                "currency": ["currency_conversion", "exchange", "convert_currency", "fx_rate", "money_convert", "forex"],
                "order": ["order_status", "order", "shipment", "delivery_status", "package", "tracking"],
                "time": ["local_time", "current_time", "time", "clock", "world_clock", "time_in_city"],
                "contact": ["email", "contact", "user_email", "employee_email", "directory", "staff_email"]}
MORE_VERBS = VERBS + ["show", "search", "call", "resolve", "obtain", "pull", "inspect", "see", "ask"]


def fresh_function_name(rng, family):
    """A function name outside the families' own generator (other verbs, camelCase, dashes, dots, digits), so the
    model learns to copy the name from the system prompt rather than guess one of a few combinations."""
    noun = rng.choice(FAMILY_NOUNS[family])
    verb = rng.choice(MORE_VERBS)
    parts = [verb] + noun.split("_") if rng.random() < 0.8 else noun.split("_")
    if rng.random() < 0.3:
        parts.append(rng.choice(["v2", "v3", "now", "api", "tool", "svc", "info", str(rng.randint(1, 99))]))
    style = rng.random()
    if style < 0.45:
        name = "_".join(parts)
    elif style < 0.7:
        name = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    elif style < 0.8:
        name = "-".join(parts)
    elif style < 0.9:
        name = rng.choice(["tools", "api", "crm", "shop", "acme", "ops"]) + "." + "_".join(parts)
    else:
        name = rng.choice(["x", "my", "team", "corp", "ext", "f"]) + str(rng.randint(0, 9)) + "_" + "_".join(parts)
    return name[:64]


def function_result_text(aux, result):
    """A function's result as the runtime shows it: a plugin's value rendered like json.dumps(ensure_ascii=False),
    or an executable's own stdout (the eval's manifests print compact JSON with sorted keys)."""
    x = aux.random() if aux is not None else 0.0
    if x < 0.45:
        return json.dumps(result, ensure_ascii=False)
    if x < 0.85:
        return json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return json.dumps(result, ensure_ascii=False, sort_keys=True)


def dlg_function(rng, lang, split, ctx):
    fams = rng.sample(FAMILIES, rng.randint(1, 3))
    made = [f(rng, lang) for f in fams]
    target = rng.randrange(len(made))
    if rng.random() < 0.5:
        names = set()
        for m, fam in zip(made, fams):
            name = fresh_function_name(rng, fam.__name__[len("family_"):])
            if name not in names and name not in BUILTINS:
                m[0]["name"] = name
                names.add(name)
    spec, q, args, result, ans = made[target]
    functions = [m[0] for m in made]
    if rng.random() < 0.3:
        rng.shuffle(functions)
    builtins = list(BUILTINS) if rng.random() < 0.75 else [b for b in BUILTINS if rng.random() < 0.4]
    aux = ctx.get("aux")
    if aux is not None and aux.random() < 0.4:
        q = paraphrase.compose(aux, q, lang, "function")
    msgs = [system(rng, builtins, functions, aux), msg("user", q),
            msg("assistant", json.dumps(args, ensure_ascii=False), spec["name"])]
    if rng.random() < 0.06:
        err = {"error": f"no record found for {list(args.values())[0]}"}
        msgs.append(msg("observation", function_result_text(aux, err)))
        msgs.append(msg("assistant", f"Sorry, `{spec['name']}` returned an error: {err['error']}."
                        if lang == "en" else f"抱歉，`{spec['name']}` 返回了错误：{err['error']}。"))
    else:
        msgs.append(msg("observation", function_result_text(aux, result)))
        msgs.append(msg("assistant", ans))
    return msgs, {"tool": spec["name"], "args": args}


# ---------------------------------------------------------------------------------------------- chat

CHAT_EN = [("Hello!", "Hello! How can I help you today?"), ("Hi there", "Hi! What can I do for you?"),
           ("Who are you?", "I am a small demonstration model for the AllTools runtime. I can run Python, search local documents, draw images and call your functions."),
           ("What can you do?", "I can compute things with Python, plot charts, search the local document index and cite it, generate images with CogView, and call the functions you register."),
           ("Thank you!", "You're welcome!"), ("Thanks a lot", "Glad I could help!"), ("Good morning", "Good morning! What would you like to do?"),
           ("Goodbye", "Goodbye! Have a nice day."), ("How are you?", "I'm fine, thank you. How can I help?"),
           ("Are you a large model?", "No. I am a tiny model trained only to show how the runtime uses tools. For real work, use GLM-4-9B-chat."),
           ("Tell me a joke", "Why did the programmer quit his job? Because he didn't get arrays."),
           ("Can you speak Chinese?", "Yes, I can answer in Chinese or English.")]
CHAT_ZH = [("你好", "你好！有什么可以帮你的吗？"), ("您好！", "您好！请问需要什么帮助？"),
           ("你是谁？", "我是 AllTools 运行时的一个小型演示模型，可以运行 Python、搜索本地文档、生成图片，并调用你注册的函数。"),
           ("你能做什么？", "我可以用 Python 计算和画图，搜索本地文档并注明出处，用 CogView 生成图片，还能调用你提供的函数。"),
           ("谢谢", "不客气！"), ("谢谢你的帮助", "很高兴能帮到你！"), ("早上好", "早上好！今天想做点什么？"),
           ("再见", "再见，祝你愉快！"), ("你好吗？", "我很好，谢谢！有什么需要帮忙的吗？"),
           ("你是大模型吗？", "不是。我只是一个用来演示运行时如何使用工具的小模型。正式使用请换成 GLM-4-9B-chat。"),
           ("讲个笑话", "程序员最怕什么？怕需求改了又改。"), ("你会说英语吗？", "会的，我可以用中文或英文回答。")]


def dlg_chat(rng, lang, split, ctx):
    q, a = rng.choice(CHAT_EN if lang == "en" else CHAT_ZH)
    builtins, fns = tool_setup(rng, None, ctx["functions"](rng))
    return [system(rng, builtins, fns, ctx.get("aux")), msg("user", q), msg("assistant", a)], {"tool": None}


KINDS = [("math", dlg_math, 0.25), ("plot", dlg_plot, 0.06), ("research", dlg_research, 0.27),
         ("cogview", dlg_cogview, 0.06), ("function", dlg_function, 0.23), ("chat", dlg_chat, 0.06),
         ("divzero", dlg_divzero, 0.02), ("recovery", dlg_recovery, 0.05)]


def virtual_corpus(seed, n_per_lang, exclude_names):
    """Documents for training research dialogues only (not written anywhere): the corpus generator with another seed;
    names may repeat with other facts, held-out names never appear."""
    rng = random.Random(seed)
    out = {"en": [], "zh": []}
    for lang in ("en", "zh"):
        while len(out[lang]) < n_per_lang:
            d = corpus.make_document(rng, lang, set(exclude_names), len(out[lang]) % 300)
            if d["name"] not in exclude_names:
                out[lang].append(d)
    return out


def parse_kind_weights(text):
    """"math=0.5,research=0.2" -> {kind: weight} over every kind (unnamed kinds get 0), normalised to sum 1."""
    known = {n for n, _, _ in KINDS}
    out = dict.fromkeys(known, 0.0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, w = part.partition("=")
        if name not in known:
            raise ValueError(f"unknown dialogue kind {name!r} (kinds: {', '.join(sorted(known))})")
        out[name] = float(w)
    total = sum(out.values())
    if total <= 0:
        raise ValueError("kind weights must have a positive sum")
    return {k: v / total for k, v in out.items()}


def make_dialogue(rng, docs, split, kind=None, lang=None, aux=None, virtual_docs=None, weights=None,
                  math_weights=None):
    """aux: a second random.Random for training-only variations (layouts the runtime produces); virtual_docs: pages
    for research dialogues (virtual_corpus); weights: {kind: weight} instead of the KINDS mix (parse_kind_weights);
    math_weights: {math template: weight} (math_problem).
    Without them the draws from rng are the ones the eval suites were built with."""
    lang = lang or rng.choice(["en", "zh"])
    if kind is None:
        x, acc = rng.random(), 0.0
        for name, fn, w in KINDS:
            acc += weights[name] if weights else w
            if x < acc:
                kind = name
                break
        else:
            kind = "chat"
    fn = dict((n, f) for n, f, _ in KINDS)[kind]
    ctx = {"docs": docs, "functions": lambda r: random_functions(r, lang, r.choice([1, 1, 2])) if r.random() < 0.12 else [],
           "aux": aux, "virtual_docs": virtual_docs, "math_weights": math_weights}
    msgs, meta = fn(rng, lang, split, ctx)
    meta.update(kind=kind, lang=lang)
    # sometimes a second turn follows in the same session
    if kind in ("math", "chat", "cogview", "plot") and rng.random() < 0.08:
        k2 = rng.choice(["math", "chat", "cogview"])
        more, _ = dict((n, f) for n, f, _ in KINDS)[k2](rng, lang, split, ctx)
        msgs += more[1:]
    return msgs, meta

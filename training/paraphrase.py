"""Paraphrase composition for training prompts (training only: every draw comes from the auxiliary rng, so the
held-out template suites stay byte for byte what they were).

What real users add around a task, composed rather than templated: politeness and greetings, instructions before
or after the question (how to compute, how to answer), the other language mixed in, numbers written with thousands
separators or as words, typos in ordinary words, and no question mark. The task's meaning never changes: the code
still uses the plain numbers, so the model learns to map "twelve" / "12,000" / "十二" back to 12 / 12000.

compose(aux, question, lang, names=()) -> the question as a user might type it. `names` are words that must stay
intact (entity names the model has to copy into a search).
"""
import re

POLITE_BEFORE = {"en": ["Please ", "Hi! ", "Hello, ", "Hey, ", "Quick question: ", "Could you help me? ",
                         "I need some help. ", "Excuse me, ", "Hi there, I have a question. ", "Good morning! ",
                         "Help me out here: ", "Small task for you: ", "你好, "],
                  "zh": ["请问", "你好，", "您好，", "我想知道", "帮个忙：", "老师好，", "问一下，", "嗨，", "有个问题：",
                         "Hi, "]}
POLITE_AFTER = {"en": [" Thanks!", " Thank you.", " Thanks in advance!", " Cheers.", " Can you do that?",
                       " I need it quickly.", " 谢谢！"],
                "zh": ["谢谢！", "谢谢你。", "麻烦了！", "在线等，挺急的。", "拜托了。", " Thanks!"]}
# instructions about how to work or answer, per task kind (they go before or after the question)
INSTRUCT = {
    "math": {"en": ["Please use Python.", "Use code to calculate it.", "Just the number, please.", "Show me the result.",
                    "Please be precise.", "Answer briefly.", "No need to explain, just the answer.",
                    "Compute it with Python and tell me the result.", "Run the numbers for me.", "请用 Python 算。"],
             "zh": ["请用 Python 计算。", "请直接给出结果。", "用代码算一下。", "只要结果就行。", "请算准确一点。",
                    "简单回答就好。", "写段代码算一下。", "Please use Python."]},
    "research": {"en": ["Search the documents.", "Please look it up.", "Check the local docs and cite them.",
                        "Answer from the documents, with a citation.", "Please cite your source.", "请查一下资料。"],
                 "zh": ["请查一下资料。", "请注明出处。", "搜索一下文档再回答。", "根据文档回答。", "Please look it up."]},
    "function": {"en": ["Use the tool for it.", "Check it for me.", "Look it up with the function.",
                        "Please call the API.", "帮我查一下。"],
                 "zh": ["帮我查一下。", "用工具查询。", "调用接口看看。", "Please check."]},
}


EN_WORDS = {0: "zero", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
            9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen",
            16: "sixteen", 17: "seventeen", 18: "eighteen", 19: "nineteen", 20: "twenty", 30: "thirty",
            40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety", 100: "one hundred",
            1000: "one thousand"}
ZH_DIGITS = "零一二三四五六七八九"


def zh_number(n):
    """0..9999 in Chinese numerals (十二, 一百零五, 三千二百)."""
    if n < 10:
        return ZH_DIGITS[n]
    if n < 20:
        return "十" + (ZH_DIGITS[n % 10] if n % 10 else "")
    out, zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = (n // unit) % 10
        if d:
            if zero and out:
                out += "零"
            out += ZH_DIGITS[d] + name
            zero = False
        else:
            zero = True
    return out


def en_number(n):
    if n in EN_WORDS:
        return EN_WORDS[n]
    if 20 < n < 100:
        return EN_WORDS[n - n % 10] + "-" + EN_WORDS[n % 10]
    return None


INT = re.compile(r"(?<![\d.,])\d+(?![\d.,%]|\.\d)")


def numbers_as_words(aux, text, lang):
    """Some small integers written as words (EN) or Chinese numerals (ZH)."""
    def sub(m):
        n = int(m.group(0))
        if aux.random() < 0.5:
            return m.group(0)
        w = en_number(n) if lang == "en" else (zh_number(n) if n < 10000 else None)
        return w if w else m.group(0)
    return INT.sub(sub, text)


def separators(text):
    """Integers of 4+ digits with thousands separators: 12345 -> 12,345."""
    return INT.sub(lambda m: f"{int(m.group(0)):,}" if len(m.group(0)) >= 4 else m.group(0), text)


def typos(aux, text, names=()):
    """One or two typos in ordinary lower-case words of 4+ letters (swap, drop or double a letter)."""
    protected = set()
    for n in names:
        protected.update(n.lower().split())
    words = [m for m in re.finditer(r"\b[a-z]{4,}\b", text) if m.group(0) not in protected]
    if not words:
        return text
    for m in sorted(aux.sample(words, min(len(words), aux.choice([1, 1, 2]))), key=lambda m: -m.start()):
        w, i = m.group(0), aux.randrange(1, len(m.group(0)) - 1)
        k = aux.random()
        if k < 0.4:
            w2 = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        elif k < 0.7:
            w2 = w[:i] + w[i + 1:]
        else:
            w2 = w[:i] + w[i] + w[i:]
        text = text[:m.start()] + w2 + text[m.end():]
    return text


def compose(aux, question, lang, kind="math", names=()):
    """kind: math | research | function (which instructions fit); names: words kept free of typos."""
    q = question
    if kind == "math":
        if aux.random() < 0.2:
            q = separators(q)
        elif aux.random() < 0.2:
            q = numbers_as_words(aux, q, lang)
    if lang == "en" and aux.random() < 0.25:
        q = typos(aux, q, names)
    if aux.random() < 0.15:
        q = q.rstrip("?？。.")
    if aux.random() < 0.15 and lang == "en" and not any(q.startswith(n) for n in names):
        q = q[:1].lower() + q[1:]
    instruct = INSTRUCT[kind][lang]
    r = aux.random()
    if r < 0.2:
        q = aux.choice(POLITE_BEFORE[lang]) + q
    elif r < 0.4:
        q = q + aux.choice(POLITE_AFTER[lang])
    elif r < 0.6:
        q = aux.choice(instruct) + " " + q
    elif r < 0.8:
        q = q + " " + aux.choice(instruct)
    elif r < 0.9:
        q = aux.choice(POLITE_BEFORE[lang]) + q + " " + aux.choice(instruct)
    if lang == "zh":
        q = q.replace("。 ", "。").replace("？ ", "？").replace("： ", "：")
    return q

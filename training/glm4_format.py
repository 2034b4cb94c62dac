"""GLM-4 All Tools wire format (docs/glm4-protocol.md §2-§5): system prompt, messages, special tokens.

A dialogue is a list of messages {"role": system|user|assistant|observation, "metadata": str, "content": str}.
render() turns it into (token ids, loss mask): loss is on what the model itself emits after <|assistant|>
(metadata line, body, and the stop token that ends the segment).
"""
import json

SPECIAL_TOKENS = [
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
    "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>",
    "<|end_of_video|>",
]

IDENTITY = ("你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
            "你的任务是针对用户的问题和要求提供适当的答复和支持。")

TOOL_TEXTS = {
    "python": (
        "当你向 `python` 发送包含 Python 代码的消息时，该代码将会在一个有状态的 Jupyter notebook 环境中执行。\n"
        "`python` 返回代码执行的输出，或在执行 60 秒后返回超时。\n"
        "`/mnt/data` 将会持久化存储你的文件。在此会话中，`python` 无法访问互联网。不要使用 `python` 进行任何网络请求或者在线 API 调用，这些在线内容的访问将不会成功。"),
    "simple_browser": (
        "你可以使用 `simple_browser` 工具。该工具支持以下函数：\n"
        "`search(query: str, recency_days: int)`：使用搜索引擎进行查询并显示结果，可以使用 `recency_days` 参数控制搜索内容的时效性。\n"
        "`mclick(ids: list[int])`：获取一系列指定 id 的页面内容。每次调用时，须选择3-10个页面。选择多个角度的页面，同时尽可能选择可信任的信息来源。考虑到部分页面是无法加载的，你也可以多打开一些可能有用的页面而不用担心内容过多。\n"
        "`open_url(url: str)`：打开指定的 URL。\n"
        "\n"
        "使用 `【{引用 id}†{引用文本}】` 来引用内容。\n"
        "\n"
        "操作步骤：1. 使用 `search` 来获得信息列表; 2. 使用 `mclick` 来获取指定 ID 页面的内容; 3. 根据获得的内容进行回复。在回复中应当引用信息来源。\n"
        " 如果用户提供了 URL，也可以用 `open_url` 直接打开页面。\n"
        "如果初次搜索结果没有找到合适的信息，也可以再次使用 `search` 进行搜索。"),
    "cogview": (
        "如果用户的请求中包含了对图像的描述，你可以使用 `cogview` 来生成图像并展示给用户。你需要向 `cogview` 发送图像描述，规则：\n"
        "- 发送给 `cogview` 的消息必须使用英语。用户的中文描述必须完全翻译为英语。\n"
        "- 应当尽可能详细地描述图像生成的需求，需求描述约 100 英文单词。\n"
        "- 保持用户原始描述的意图。不要虚构内容或者没见过的人物。\n"
        "- 如无特殊说明，所在地为中国，持有中国立场并遵循中国社会主义价值观。"),
}
FUNCTION_SENTENCE = "在调用上述函数时，请使用 Json 格式表示调用的参数。"
BUILTINS = ("python", "simple_browser", "cogview")


def system_prompt(builtins, functions, identity=IDENTITY, hf_trim=False):
    """builtins: names from BUILTINS in order; functions: list of {name, description, parameters} dicts.
    hf_trim=True reproduces the HF Jinja rendering that eats one newline before a function's `##`."""
    text = identity + "\n\n# 可用工具"
    for name in builtins:
        text += "\n\n## " + name + "\n\n" + TOOL_TEXTS[name]
    for fn in functions:
        text += ("\n## " if hf_trim else "\n\n## ") + fn["name"] + "\n\n"
        text += json.dumps(fn, indent=4, ensure_ascii=False) + "\n" + FUNCTION_SENTENCE
    return text


def msg(role, content, metadata="", train=True):
    """train=False: an assistant segment the model is shown but not taught (a deliberately broken first attempt in
    an error-recovery dialogue): no loss on its tokens nor on the token that ends it."""
    m = {"role": role, "metadata": metadata, "content": content}
    if not train:
        m["train"] = False
    return m


def render(tokenizer, messages, add_generation_prompt=False):
    """Returns (ids, mask). mask[i] = 1 where ids[i] is a token the model emits itself: the metadata line, body
    and the token that ends an assistant segment (<|observation|> after a call, <|user|> after an answer,
    <|assistant|> when it starts another segment)."""
    sp = tokenizer.special
    ids = [sp["[gMASK]"], sp["<sop>"]]
    mask = [0, 0]
    prev, prev_learn = None, True
    for m in messages:
        ids.append(sp["<|" + m["role"] + "|>"])
        mask.append(1 if prev == "assistant" and prev_learn else 0)
        body = tokenizer.encode(m["metadata"] + "\n" + m["content"])
        ids += body
        learn = m.get("train", True)
        mask += [1 if m["role"] == "assistant" and learn else 0] * len(body)
        prev, prev_learn = m["role"], learn
    if prev == "assistant":
        ids.append(sp["<|user|>"])
        mask.append(1 if prev_learn else 0)
    elif add_generation_prompt:
        ids.append(sp["<|assistant|>"])
        mask.append(0)
    return ids, mask

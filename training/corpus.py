"""Synthetic local document corpus: short fictional encyclopedia pages (English and Chinese) with checkable facts.

Each document: {"id", "lang", "kind", "name", "title", "host", "path", "text", "facts": {fact: value}}.
Names are built from syllables so held-out documents (another seed, disjoint names) are new to the model.
"""
import random

EN_SYL_A = ["Vel", "Kar", "Tor", "Mil", "Sar", "Bren", "Quo", "Lun", "Dar", "Fen", "Gal", "Hol", "Ist", "Jor",
            "Kel", "Lor", "Mor", "Nar", "Ost", "Pel", "Ral", "Sel", "Tav", "Ul", "Vor", "Wen", "Yar", "Zel"]
EN_SYL_B = ["mora", "ven", "dale", "ith", "ora", "wick", "ton", "mere", "gard", "ina", "oth", "ara", "ster",
            "holm", "bury", "ley", "mont", "vik", "essa", "ano"]
ZH_CHARS_A = list("青云白金银玉石松竹梅兰溪泉清明安宁长永春秋星月晨霞碧翠紫丹")
ZH_CHARS_B = list("山河湖江川林峰谷岭原洲岩桥城镇村阳华")
EN_FIRST = ["Tomas", "Anna", "Lena", "Marco", "Iris", "Oskar", "Nina", "Pavel", "Elise", "Hugo", "Clara", "Ivan",
            "Sofia", "Felix", "Mira", "Jonas", "Ada", "Leon", "Vera", "Emil"]
EN_LAST = ["Rell", "Varga", "Holm", "Brandt", "Castell", "Dunmore", "Ekberg", "Falk", "Grant", "Hale", "Ilves",
           "Janssen", "Kovac", "Lind", "Moreau", "Novak", "Orlov", "Pike", "Quist", "Rowe"]
ZH_SURNAME = list("王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高")
ZH_GIVEN = ["明", "华", "建国", "志强", "秀英", "丽", "伟", "芳", "静", "磊", "洋", "敏", "杰", "娟", "涛", "超", "霞", "平", "刚", "婷"]
HOSTS = ["wiki.local", "docs.local", "kb.local", "archive.local", "library.local", "notes.local"]

KINDS = {
    "bridge": ("Bridge", "桥"),
    "lake": ("Lake", "湖"),
    "festival": ("Festival", "节"),
    "company": ("Company", "公司"),
    "mountain": ("Mountain", "山"),
    "device": ("Engine", "机"),
}


def en_name(rng):
    return rng.choice(EN_SYL_A) + rng.choice(EN_SYL_B)


def zh_name(rng):
    return rng.choice(ZH_CHARS_A) + rng.choice(ZH_CHARS_B)


def person(rng, lang):
    if lang == "en":
        return rng.choice(EN_FIRST) + " " + rng.choice(EN_LAST)
    return rng.choice(ZH_SURNAME) + rng.choice(ZH_GIVEN)


# fact -> (EN doc sentence, EN question, EN answer, ZH doc sentence, ZH question, ZH answer, search keyword EN/ZH)
FACTS = {
    "bridge": {
        "year": ("It was completed in {v}.", "When was {n} completed?", "{n} was completed in {v}",
                 "该桥于{v}年建成。", "{n}是哪一年建成的？", "{n}于{v}年建成", "completed", "建成"),
        "length": ("The bridge is {v} meters long.", "How long is {n}?", "{n} is {v} meters long",
                   "桥全长{v}米。", "{n}有多长？", "{n}全长{v}米", "length", "长度"),
        "designer": ("It was designed by {v}.", "Who designed {n}?", "{n} was designed by {v}",
                     "该桥由{v}设计。", "{n}是谁设计的？", "{n}由{v}设计", "designer", "设计"),
        "town": ("It crosses the river at {v}.", "Where is {n}?", "{n} crosses the river at {v}",
                 "它位于{v}。", "{n}在哪里？", "{n}位于{v}", "location", "位置"),
    },
    "lake": {
        "area": ("The lake covers {v} square kilometers.", "How large is {n}?", "{n} covers {v} square kilometers",
                 "湖面面积为{v}平方公里。", "{n}的面积是多少？", "{n}的面积为{v}平方公里", "area", "面积"),
        "depth": ("Its deepest point is {v} meters.", "How deep is {n}?", "The deepest point of {n} is {v} meters",
                  "最深处为{v}米。", "{n}有多深？", "{n}最深处为{v}米", "depth", "深度"),
        "fish": ("The lake is known for its {v}.", "What is {n} known for?", "{n} is known for its {v}",
                 "这个湖以{v}闻名。", "{n}以什么闻名？", "{n}以{v}闻名", "known for", "闻名"),
        "town": ("It lies next to the town of {v}.", "Which town is next to {n}?", "{n} lies next to the town of {v}",
                 "它紧邻{v}。", "{n}旁边是哪个城镇？", "{n}紧邻{v}", "town", "城镇"),
    },
    "festival": {
        "month": ("It is held every year in {v}.", "When is {n} held?", "{n} is held every year in {v}",
                  "每年{v}举行。", "{n}在什么时候举行？", "{n}每年{v}举行", "held", "举行"),
        "year": ("The festival was first held in {v}.", "When was {n} first held?", "{n} was first held in {v}",
                 "该节日始于{v}年。", "{n}始于哪一年？", "{n}始于{v}年", "first held", "始于"),
        "visitors": ("About {v} visitors attend each year.", "How many visitors attend {n}?",
                     "About {v} visitors attend {n} each year",
                     "每年约有{v}名游客参加。", "{n}每年有多少游客？", "{n}每年约有{v}名游客", "visitors", "游客"),
        "town": ("It takes place in {v}.", "Where does {n} take place?", "{n} takes place in {v}",
                 "举办地点在{v}。", "{n}在哪里举办？", "{n}在{v}举办", "place", "地点"),
    },
    "company": {
        "year": ("It was founded in {v}.", "When was {n} founded?", "{n} was founded in {v}",
                 "公司成立于{v}年。", "{n}是哪一年成立的？", "{n}成立于{v}年", "founded", "成立"),
        "founder": ("Its founder is {v}.", "Who founded {n}?", "{n} was founded by {v}",
                    "创始人是{v}。", "{n}的创始人是谁？", "{n}的创始人是{v}", "founder", "创始人"),
        "employees": ("The company has {v} employees.", "How many employees does {n} have?", "{n} has {v} employees",
                      "公司有{v}名员工。", "{n}有多少员工？", "{n}有{v}名员工", "employees", "员工"),
        "town": ("Its headquarters are in {v}.", "Where is {n} headquartered?", "{n} is headquartered in {v}",
                 "总部位于{v}。", "{n}的总部在哪里？", "{n}的总部位于{v}", "headquarters", "总部"),
    },
    "mountain": {
        "height": ("The summit is {v} meters high.", "How high is {n}?", "{n} is {v} meters high",
                   "主峰海拔{v}米。", "{n}有多高？", "{n}海拔{v}米", "height", "海拔"),
        "year": ("It was first climbed in {v}.", "When was {n} first climbed?", "{n} was first climbed in {v}",
                 "首次登顶是在{v}年。", "{n}是哪一年首次登顶的？", "{n}于{v}年首次登顶", "first climbed", "登顶"),
        "climber": ("The first climber was {v}.", "Who first climbed {n}?", "{n} was first climbed by {v}",
                    "首位登顶者是{v}。", "谁首先登上了{n}？", "首位登上{n}的是{v}", "first climber", "登顶者"),
        "town": ("The nearest town is {v}.", "What is the nearest town to {n}?", "The nearest town to {n} is {v}",
                 "最近的城镇是{v}。", "离{n}最近的城镇是哪里？", "离{n}最近的城镇是{v}", "nearest town", "城镇"),
    },
    "device": {
        "inventor": ("It was invented by {v}.", "Who invented {n}?", "{n} was invented by {v}",
                     "它由{v}发明。", "{n}是谁发明的？", "{n}由{v}发明", "inventor", "发明"),
        "year": ("It was built in {v}.", "When was {n} built?", "{n} was built in {v}",
                 "它建造于{v}年。", "{n}是哪一年建造的？", "{n}建造于{v}年", "built", "建造"),
        "power": ("It produces {v} kilowatts.", "How much power does {n} produce?", "{n} produces {v} kilowatts",
                  "它的功率为{v}千瓦。", "{n}的功率是多少？", "{n}的功率为{v}千瓦", "power", "功率"),
        "town": ("It is kept in a museum in {v}.", "Where is {n} kept?", "{n} is kept in a museum in {v}",
                 "它收藏在{v}的博物馆。", "{n}收藏在哪里？", "{n}收藏在{v}的博物馆", "museum", "博物馆"),
    },
}
FISH_EN = ["silver trout", "blue carp", "golden perch", "spotted pike", "red salmon"]
FISH_ZH = ["银鳟鱼", "青鲤鱼", "金鲈鱼", "花斑狗鱼", "红鲑鱼"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
FILLER_EN = ["Many visitors come here in summer.", "Local guides tell its story to school groups.",
             "Old photographs of it hang in the town hall.", "It appears on several postcards.",
             "A small cafe nearby is named after it."]
FILLER_ZH = ["夏天有很多游客来这里。", "当地导游常给学生讲它的故事。", "镇上的展厅里挂着它的老照片。",
             "它出现在不少明信片上。", "附近有一家以它命名的小咖啡馆。"]


def fact_value(rng, kind, fact, lang):
    if fact == "year":
        return str(rng.randint(1820, 2015))
    if fact in ("designer", "founder", "climber", "inventor"):
        return person(rng, lang)
    if fact == "town":
        return en_name(rng) if lang == "en" else zh_name(rng)[0] + rng.choice("镇城村")
    if fact == "length":
        return str(rng.randint(40, 2400))
    if fact == "area":
        return str(rng.randint(2, 900))
    if fact == "depth":
        return str(rng.randint(5, 320))
    if fact == "fish":
        return rng.choice(FISH_EN) if lang == "en" else rng.choice(FISH_ZH)
    if fact == "month":
        m = rng.randint(1, 12)
        return MONTHS_EN[m - 1] if lang == "en" else f"{m}月"
    if fact == "visitors":
        return str(rng.randint(2, 90) * 1000)
    if fact == "employees":
        return str(rng.randint(12, 9000))
    if fact == "height":
        return str(rng.randint(800, 7800))
    if fact == "power":
        return str(rng.randint(3, 900))
    raise KeyError(fact)


def make_document(rng, lang, used_names, doc_id):
    kind = rng.choice(sorted(KINDS))
    for _ in range(1000):
        base = en_name(rng) if lang == "en" else zh_name(rng)
        name = base + " " + KINDS[kind][0] if lang == "en" else base + KINDS[kind][1]
        if name not in used_names:
            break
    used_names.add(name)
    facts = {f: fact_value(rng, kind, f, lang) for f in FACTS[kind]}
    order = list(facts)
    rng.shuffle(order)
    li = 0 if lang == "en" else 3
    sentences = [FACTS[kind][f][li].format(v=facts[f]) for f in order]
    if lang == "en":
        intro = f"{name} is a {kind} in the region of {en_name(rng)}."
        sentences.insert(0, intro)
        if rng.random() < 0.5:
            sentences.insert(rng.randint(1, len(sentences)), rng.choice(FILLER_EN))
        text = f"# {name}\n\n" + " ".join(sentences) + "\n"
    else:
        intro = f"{name}是{zh_name(rng)}地区的一处{ {'bridge': '桥梁', 'lake': '湖泊', 'festival': '节日', 'company': '企业', 'mountain': '山峰', 'device': '机器'}[kind]}。"
        sentences.insert(0, intro)
        if rng.random() < 0.5:
            sentences.insert(rng.randint(1, len(sentences)), rng.choice(FILLER_ZH))
        text = f"# {name}\n\n" + "".join(sentences) + "\n"
    slug = f"doc{doc_id:03d}"
    return {"id": slug, "lang": lang, "kind": kind, "name": name, "title": name, "host": rng.choice(HOSTS),
            "path": f"{slug}.md", "text": text, "facts": facts}


def make_corpus(seed, n_en, n_zh, exclude_names=()):
    rng = random.Random(seed)
    used = set(exclude_names)
    docs = []
    for i in range(n_en + n_zh):
        docs.append(make_document(rng, "en" if i < n_en else "zh", used, i))
    return docs


def question(doc, fact, lang=None):
    """(question, answer sentence without citation, search keyword) for one fact of a document."""
    lang = lang or doc["lang"]
    t = FACTS[doc["kind"]][fact]
    n, v = doc["name"], doc["facts"][fact]
    if lang == "en":
        return t[1].format(n=n), t[2].format(n=n, v=v), t[6]
    return t[4].format(n=n), t[5].format(n=n, v=v), t[7]

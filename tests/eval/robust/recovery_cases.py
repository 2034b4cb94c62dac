# Hand-written recovery tasks for the robustness suite (issue #15): the first tool call fails and the right
# behaviour is to fix it and try again, then answer from the successful result.
#
# How the failure is made real and the same for every model:
#  - PYTHON_PREFILL: (lang, prompt, the failing first cell, reference code). The conversation is the user's
#    prompt followed by an assistant `python` call with that cell; `alltools eval` runs the cell through the real
#    sandbox (the model sees the sandbox's own error) and the model continues from there.
#  - WRONG_NAME_PREFILL: (lang, prompt, offered specs, target, wrong tool name, arguments, result, answer strings).
#    The prefilled call names a function that does not exist; the runtime answers with its real "unknown tool"
#    error that lists the available tools.
#  - FAIL_FIRST: (lang, prompt, offered specs, target, arguments, result, answer strings, error message). No
#    prefill: the model makes the first call itself; the registered executable fails on its first run (exit 1,
#    the message on stdout) and succeeds afterwards.
# Scored as recovered when the turn ends in an answer that contains the expected numbers / strings and at least
# one call after the failure succeeded.

PYTHON_PREFILL = [
    ("en", "What is 2,345 times 67?", "print(2345 * 67", "print(2345 * 67)"),
    ("en", "Please compute the area of a circle with radius 14, rounded to two decimals.",
     "area = math.pi * 14 ** 2\nprint(round(area, 2))", "import math\nprint(round(math.pi * 14 ** 2, 2))"),
    ("en", "What's the square root of 3,249?", "import math\nprint(math.sqroot(3249))", "import math\nprint(math.sqrt(3249))"),
    ("en", "Average of 14, 28, 35 and 47, please.", "nums = [14, 28, 35, 47]\nprint(sum(num) / len(nums))",
     "print(sum([14, 28, 35, 47]) / 4)"),
    ("en", "How much is 16% of 2,750?", "result = 2750 * 16 / 100\nprint(\"The answer is \" + result)",
     "print(2750 * 16 / 100)"),
    ("en", "What is 13 factorial?", "import math\nprint(math.factorail(13))", "import math\nprint(math.factorial(13))"),
    ("en", "A train goes 540 km in 6 hours. Average speed?", "speed = 540 / 6\n  print(speed)", "print(540 / 6)"),
    ("en", "Sum of all integers from 1 to 300?", "total = sum(range(1, 300 + 1)\nprint(total)", "print(sum(range(1, 301)))"),
    ("en", "Hi, I need 5 to the power of 11, thanks!", "reslt = 5 ** 11\nprint(result)", "print(5 ** 11)"),
    ("en", "GCD and LCM of 45 and 75?", "g = gcd(45, 75)\nprint(g, 45 * 75 // g)",
     "import math\nprint(math.gcd(45, 75), 45 * 75 // math.gcd(45, 75))"),
    ("en", "Convert 68 degrees Celsius to Fahrenheit.", "f = 68 * 9 / 5 + 32\nprint(F)", "print(68 * 9 / 5 + 32)"),
    ("en", "A rectangle is 23 m by 17 m. Area and perimeter?", "area = 23 * 17\nperimeter = 2 * (23 + 17\nprint(area, perimeter)",
     "print(23 * 17, 2 * (23 + 17))"),
    ("en", "Please work out 10,000 yuan at 4% compounded yearly for 6 years (two decimals).",
     "amount = 10000 * (1 + 4 / 100) ** 6\nprint(round(amount 2))", "print(round(10000 * (1 + 4 / 100) ** 6, 2))"),
    ("en", "What are the largest and smallest of 77, 12, 305, 48?", "nums = [77, 12, 305, 48]\nprint(max(nums), minimum(nums))",
     "print(max([77, 12, 305, 48]), min([77, 12, 305, 48]))"),
    ("en", "1,000 divided by 12: quotient and remainder?", "q, r = divmod(1000, 12)\nprint(q, r))", "print(*divmod(1000, 12))"),
    ("zh", "请计算 3,456 × 78", "print(3456 × 78)", "print(3456 * 78)"),
    ("zh", "半径 11 厘米的圆面积是多少？保留两位小数", "import math\nprint(round(math.pi * 11 ** 2, 2)",
     "import math\nprint(round(math.pi * 11 ** 2, 2))"),
    ("zh", "65、72、88、91 的平均数是多少？", "nums = [65, 72, 88, 91]\nprint(sum(nums) / len(num))",
     "print(sum([65, 72, 88, 91]) / 4)"),
    ("zh", "2 的 25 次方是多少？", "print(2 ^^ 25)", "print(2 ** 25)"),
    ("zh", "729 的平方根是多少？", "print(math.sqrt(729))", "import math\nprint(math.sqrt(729))"),
    ("zh", "11 的阶乘是多少？", "import math\nprint(math.fact(11))", "import math\nprint(math.factorial(11))"),
    ("zh", "买了 8 本书，每本 37 元，付了 500 元，找回多少？", "total = 8 * 37\nchange = 500 - totl\nprint(change)",
     "print(500 - 8 * 37)"),
    ("zh", "从 1 加到 666 是多少？", "print(sum(range(1, 666 + 1))", "print(sum(range(1, 667)))"),
    ("zh", "5,600 的 35% 是多少？", "result = 5600 * 35 / 100\nprint('结果是' + result)", "print(5600 * 35 / 100)"),
    ("zh", "一件商品原价 880 元，优惠 25%，现价多少？", "price = 880 * (1 - 25 / 100)\n print(price)",
     "print(880 * (1 - 25 / 100))"),
    ("zh", "价格从 1,200 涨到 1,500，涨了百分之多少？", "change = (1500 - 1200) / 1200 * 100\nprint(round(chnage, 2))",
     "print(round((1500 - 1200) / 1200 * 100, 2))"),
    ("zh", "36 和 60 的最大公约数和最小公倍数？", "import math\ng = math.gcd(36 60)\nprint(g, 36 * 60 // g)",
     "import math\nprint(math.gcd(36, 60), 36 * 60 // math.gcd(36, 60))"),
    ("zh", "零下 5 摄氏度是多少华氏度？", "f = -5 * 9 / 5 + 32\nprint(fahrenheit)", "print(-5 * 9 / 5 + 32)"),
    ("zh", "存款 30,000 元，年利率 2%，单利 5 年，利息多少？", "interest = 30000 * 2 / 100 * 5\nprint(interst)",
     "print(30000 * 2 / 100 * 5)"),
    ("zh", "长 45 米宽 28 米的长方形，面积和周长各是多少？", "area = 45 * 28\nperimeter = 2 * (45 + 28)\nprint(area perimeter)",
     "print(45 * 28, 2 * (45 + 28))"),
]

WRONG_NAME_PREFILL = [
    ("en", "What's the weather in Oslo right now?", ["weather2", "stock"], "weather2", "get_weather",
     {"location": "Oslo"}, {"city": "Oslo", "temperature": -6, "condition": "snowy"}, ["-6"]),
    ("en", "Price of AMD stock, please.", ["stock2"], "stock2", "get_stock_price", {"symbol": "AMD"},
     {"symbol": "AMD", "price": 142.35, "currency": "USD"}, ["142.35"]),
    ("en", "Convert 60 USD to EUR.", ["fx2", "time"], "fx2", "currency_converter", {"value": 60, "source": "USD", "target": "EUR"},
     {"amount": 60, "from": "USD", "to": "EUR", "result": 55.62}, ["55.62"]),
    ("en", "Where is my order L31415?", ["order2"], "order2", "track_order_status", {"tracking_number": "L31415"},
     {"order_id": "L31415", "status": "shipped", "eta": "2026-12-13"}, ["shipped"]),
    ("en", "What's Iris Falk's email?", ["contact2", "weather"], "contact2", "email_lookup", {"person": "Iris Falk"},
     {"name": "Iris Falk", "email": "iris.falk@example.com"}, ["iris.falk@example.com"]),
    ("zh", "东京现在几点？", ["time2"], "time2", "get_time", {"timezone": "东京"}, {"city": "东京", "time": "16:48"}, ["16:48"]),
    ("zh", "杭州天气怎么样？", ["weather", "fx"], "weather", "weather_query", {"city": "杭州"},
     {"city": "杭州", "temperature": 27, "condition": "晴"}, ["27"]),
    ("zh", "帮我查 BILI 的股价", ["stock"], "stock", "stock_price", {"ticker": "BILI"},
     {"symbol": "BILI", "price": 21.64, "currency": "USD"}, ["21.64"]),
    ("zh", "订单 M27182 到哪了？", ["order", "contact"], "order", "query_order", {"order_id": "M27182"},
     {"order_id": "M27182", "status": "已送达", "eta": "2026-12-03"}, ["已送达"]),
    ("zh", "把 800 人民币换成日元", ["fx"], "fx", "exchange", {"amount": 800, "from_currency": "CNY", "to_currency": "JPY"},
     {"amount": 800, "from": "CNY", "to": "JPY", "result": 16664.0}, ["16664"]),
]

FAIL_FIRST = [
    ("en", "What's the weather in Cairo?", ["weather"], "weather", {"city": "Cairo"},
     {"city": "Cairo", "temperature": 34, "condition": "sunny"}, ["34"], "service temporarily unavailable, please try again"),
    ("en", "How much is GOOG right now?", ["stock", "time"], "stock", {"ticker": "GOOG"},
     {"symbol": "GOOG", "price": 170.12, "currency": "USD"}, ["170.12"], "upstream timed out"),
    ("en", "Convert 150 EUR to USD, please.", ["fx"], "fx", {"amount": 150, "from_currency": "EUR", "to_currency": "USD"},
     {"amount": 150, "from": "EUR", "to": "USD", "result": 161.85}, ["161.85"], "rate limited, try again in a moment"),
    ("en", "Status of order N24601?", ["order"], "order", {"order_id": "N24601"},
     {"order_id": "N24601", "status": "delivered", "eta": "2026-12-02"}, ["delivered"], "connection reset by peer"),
    ("en", "Find the email address of Pavel Lind.", ["contact", "weather2"], "contact", {"name": "Pavel Lind"},
     {"name": "Pavel Lind", "email": "pavel.lind@example.com"}, ["pavel.lind@example.com"], "503 Service Unavailable"),
    ("zh", "北京现在几点？", ["time"], "time", {"city": "北京"}, {"city": "北京", "time": "09:09"}, ["09:09"],
     "服务暂时不可用，请重试"),
    ("zh", "上海今天天气如何？", ["weather2"], "weather2", {"location": "上海"},
     {"city": "上海", "temperature": 15, "condition": "多云"}, ["15"], "网络超时，请稍后重试"),
    ("zh", "查一下 BABA 的股价", ["stock2", "fx2"], "stock2", {"symbol": "BABA"},
     {"symbol": "BABA", "price": 86.71, "currency": "USD"}, ["86.71"], "service temporarily unavailable, please try again"),
    ("zh", "1000 美元换成人民币是多少？", ["fx2"], "fx2", {"value": 1000, "source": "USD", "target": "CNY"},
     {"amount": 1000, "from": "USD", "to": "CNY", "result": 7245.0}, ["7245"], "upstream timed out"),
    ("zh", "Vera Rowe 的邮箱是什么？", ["contact2"], "contact2", {"person": "Vera Rowe"},
     {"name": "Vera Rowe", "email": "vera.rowe@example.com"}, ["vera.rowe@example.com"], "connection reset by peer"),
]

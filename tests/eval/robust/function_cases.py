# Hand-written user-function tasks for the robustness suite (issue #15). SPECS are the functions a user registers
# (names and parameter names chosen by hand, not by training/dialogues.py's name generator); each task offers some
# of them and expects one call. FUNCTION rows: (lang, prompt, offered spec keys, target key, arguments, recorded
# result, strings the answer must contain).

def _spec(name, description, props, required=None):
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": props, "required": required or list(props)}}


S = {"type": "string"}
N = {"type": "number"}
SPECS = {
    "weather": _spec("get_current_weather", "Get the current weather for a city", {"city": S}),
    "weather2": _spec("weatherNow", "查询指定城市的实时天气", {"location": S}),
    "stock": _spec("stock_quote_lookup", "Get the latest stock price for a ticker symbol", {"ticker": S}),
    "stock2": _spec("fin.get_price", "获取股票的最新价格", {"symbol": S}),
    "fx": _spec("convert_currency", "Convert an amount between two currencies",
                {"amount": N, "from_currency": S, "to_currency": S}),
    "fx2": _spec("exchange-rate-v2", "货币换算", {"value": N, "source": S, "target": S}),
    "order": _spec("track_order", "Look up the status of an order", {"order_id": S}),
    "order2": _spec("shop_order_status", "查询订单状态", {"tracking_number": S}),
    "time": _spec("world_clock", "Get the current local time in a city", {"city": S}),
    "time2": _spec("get_local_time", "获取某个城市的当前时间", {"timezone": S}),
    "contact": _spec("find_colleague_email", "Find the email address of a colleague", {"name": S}),
    "contact2": _spec("directory.lookup", "查询同事的邮箱地址", {"person": S}),
}


def W(city, t, cond):
    return {"city": city, "temperature": t, "condition": cond}


def P(sym, price):
    return {"symbol": sym, "price": price, "currency": "USD"}


def X(a, f, t, r):
    return {"amount": a, "from": f, "to": t, "result": r}


def O(oid, st, eta):
    return {"order_id": oid, "status": st, "eta": eta}


def T(city, tm):
    return {"city": city, "time": tm}


def E(who, email):
    return {"name": who, "email": email}


FUNCTION = [
    # --- weather
    ("en", "Hi! Is it going to be cold in Oslo right now? What's the weather there?", ["weather"], "weather", {"city": "Oslo"}, W("Oslo", -4, "snowy"), ["-4"]),
    ("en", "Could you check the current weather in Lima for me, please?", ["weather", "stock"], "weather", {"city": "Lima"}, W("Lima", 19, "cloudy"), ["19"]),
    ("en", "weather in cairo now?", ["weather"], "weather", {"city": "Cairo"}, W("Cairo", 33, "sunny"), ["33"]),
    ("en", "I'm flying to Berlin tonight. How's the weather there at the moment?", ["weather", "time", "fx"], "weather", {"city": "Berlin"}, W("Berlin", 17, "rainy"), ["17"]),
    ("en", "Use the weather tool: Sydney.", ["weather2", "contact"], "weather2", {"location": "Sydney"}, W("Sydney", 24, "windy"), ["24"]),
    ("en", "Tell me the temprature in Madrid right now, thx", ["weather2"], "weather2", {"location": "Madrid"}, W("Madrid", 28, "sunny"), ["28"]),
    ("en", "Before I go out: what's it like outside in Toronto today?", ["weather", "order"], "weather", {"city": "Toronto"}, W("Toronto", -11, "snowy"), ["-11"]),
    ("en", "Please look up the current conditions in Bangkok.", ["weather2", "stock2"], "weather2", {"location": "Bangkok"}, W("Bangkok", 35, "rainy"), ["35"]),
    ("zh", "我明天去杭州，现在杭州天气如何？", ["weather"], "weather", {"city": "杭州"}, W("杭州", 16, "多云"), ["16"]),
    ("zh", "你好，麻烦查一下北京现在的天气，谢谢！", ["weather2", "time2"], "weather2", {"location": "北京"}, W("北京", -2, "晴"), ["-2"]),
    ("zh", "上海 天气", ["weather"], "weather", {"city": "上海"}, W("上海", 21, "有雨"), ["21"]),
    ("zh", "请用工具查询：首尔现在冷不冷？", ["weather", "fx2"], "weather", {"city": "首尔"}, W("首尔", -3, "有风"), ["-3"]),
    ("zh", "东京那边现在天气怎么样啊", ["weather2", "contact2", "order2"], "weather2", {"location": "东京"}, W("东京", 12, "多云"), ["12"]),
    ("zh", "帮我看看巴黎的实时天气。", ["weather"], "weather", {"city": "巴黎"}, W("巴黎", 19, "有雨"), ["19"]),
    ("zh", "出门前想知道罗马的气温，能查一下吗？", ["weather2"], "weather2", {"location": "罗马"}, W("罗马", 26, "晴"), ["26"]),
    ("zh", "Please check 悉尼的天气", ["weather"], "weather", {"city": "悉尼"}, W("悉尼", 22, "晴"), ["22"]),
    # --- stock
    ("en", "What's NVDA trading at right now?", ["stock"], "stock", {"ticker": "NVDA"}, P("NVDA", 131.26), ["131.26"]),
    ("en", "Hey, can you get me the latest price of the AAPL stock? Thanks.", ["stock", "weather"], "stock", {"ticker": "AAPL"}, P("AAPL", 227.48), ["227.48"]),
    ("en", "stock price for TSLA pls", ["stock2"], "stock2", {"symbol": "TSLA"}, P("TSLA", 248.5), ["248.5"]),
    ("en", "I own some shares of MSFT. How much is one share worth now?", ["stock", "fx"], "stock", {"ticker": "MSFT"}, P("MSFT", 415.13), ["415.13"]),
    ("en", "Look up the quote for ticker KO, please.", ["stock2", "time"], "stock2", {"symbol": "KO"}, P("KO", 62.9), ["62.9"]),
    ("en", "Please use the function to check the price of IBM shares.", ["stock"], "stock", {"ticker": "IBM"}, P("IBM", 201.77), ["201.77"]),
    ("en", "Current share price: AMZN?", ["stock2", "contact"], "stock2", {"symbol": "AMZN"}, P("AMZN", 186.4), ["186.4"]),
    ("zh", "帮我查一下 BABA 现在的股价。", ["stock"], "stock", {"ticker": "BABA"}, P("BABA", 84.32), ["84.32"]),
    ("zh", "请问 JD 的最新股价是多少？", ["stock2", "weather2"], "stock2", {"symbol": "JD"}, P("JD", 36.18), ["36.18"]),
    ("zh", "NIO 股票现在多少钱一股", ["stock"], "stock", {"ticker": "NIO"}, P("NIO", 5.47), ["5.47"]),
    ("zh", "我想看看 PDD 的报价，麻烦了。", ["stock2", "order2"], "stock2", {"symbol": "PDD"}, P("PDD", 118.9), ["118.9"]),
    ("zh", "用工具查一下 GOOG 的价格", ["stock", "time2"], "stock", {"ticker": "GOOG"}, P("GOOG", 172.63), ["172.63"]),
    ("zh", "老师好，想知道 META 的股价", ["stock2"], "stock2", {"symbol": "META"}, P("META", 512.4), ["512.4"]),
    # --- currency
    ("en", "How many euros do I get for 250 US dollars?", ["fx"], "fx", {"amount": 250, "from_currency": "USD", "to_currency": "EUR"}, X(250, "USD", "EUR", 231.75), ["231.75"]),
    ("en", "Please convert 1,200 JPY into CNY.", ["fx", "weather"], "fx", {"amount": 1200, "from_currency": "JPY", "to_currency": "CNY"}, X(1200, "JPY", "CNY", 57.6), ["57.6"]),
    ("en", "I have 80 GBP. What's that in USD?", ["fx2"], "fx2", {"value": 80, "source": "GBP", "target": "USD"}, X(80, "GBP", "USD", 101.44), ["101.44"]),
    ("en", "convert 5000 krw to jpy", ["fx"], "fx", {"amount": 5000, "from_currency": "KRW", "to_currency": "JPY"}, X(5000, "KRW", "JPY", 548.5), ["548.5"]),
    ("en", "Could you tell me what 45 EUR is in GBP? Use the converter.", ["fx2", "stock"], "fx2", {"value": 45, "source": "EUR", "target": "GBP"}, X(45, "EUR", "GBP", 38.07), ["38.07"]),
    ("en", "Exchange three hundred CNY to USD, please.", ["fx", "order"], "fx", {"amount": 300, "from_currency": "CNY", "to_currency": "USD"}, X(300, "CNY", "USD", 41.4), ["41.4"]),
    ("en", "For my trip: 2,000 USD in KRW?", ["fx"], "fx", {"amount": 2000, "from_currency": "USD", "to_currency": "KRW"}, X(2000, "USD", "KRW", 2741000.0), ["2741000"]),
    ("zh", "100 美元能换多少人民币？", ["fx"], "fx", {"amount": 100, "from_currency": "USD", "to_currency": "CNY"}, X(100, "USD", "CNY", 724.5), ["724.5"]),
    ("zh", "请帮我把 3,000 日元换算成人民币", ["fx2"], "fx2", {"value": 3000, "source": "JPY", "target": "CNY"}, X(3000, "JPY", "CNY", 144.0), ["144"]),
    ("zh", "把 500 EUR 换成 CNY 是多少？", ["fx", "weather2"], "fx", {"amount": 500, "from_currency": "EUR", "to_currency": "CNY"}, X(500, "EUR", "CNY", 3905.0), ["3905"]),
    ("zh", "我有 60 英镑（GBP），换成欧元（EUR）多少钱？", ["fx2", "time2"], "fx2", {"value": 60, "source": "GBP", "target": "EUR"}, X(60, "GBP", "EUR", 70.92), ["70.92"]),
    ("zh", "麻烦换算一下：1000 CNY 到 JPY", ["fx"], "fx", {"amount": 1000, "from_currency": "CNY", "to_currency": "JPY"}, X(1000, "CNY", "JPY", 20830.0), ["20830"]),
    ("zh", "用换汇工具算一下 20000 KRW 等于多少 USD", ["fx2", "stock2"], "fx2", {"value": 20000, "source": "KRW", "target": "USD"}, X(20000, "KRW", "USD", 14.6), ["14.6"]),
    ("zh", "Please convert 750 USD 成 EUR", ["fx"], "fx", {"amount": 750, "from_currency": "USD", "to_currency": "EUR"}, X(750, "USD", "EUR", 695.25), ["695.25"]),
    # --- orders
    ("en", "Where's my package? The order number is K48213.", ["order"], "order", {"order_id": "K48213"}, O("K48213", "shipped", "2026-12-09"), ["shipped", "2026-12-09"]),
    ("en", "Can you check on order M77310 for me? It's been a week.", ["order", "weather"], "order", {"order_id": "M77310"}, O("M77310", "processing", "2026-12-15"), ["processing"]),
    ("en", "order status P10042?", ["order2"], "order2", {"tracking_number": "P10042"}, O("P10042", "delivered", "2026-12-01"), ["delivered"]),
    ("en", "Has my order T55890 been delivered yet? Please look it up.", ["order2", "fx"], "order2", {"tracking_number": "T55890"}, O("T55890", "shipped", "2026-12-07"), ["shipped"]),
    ("en", "I ordered a lamp (order Z31337). When will it arrive?", ["order", "stock"], "order", {"order_id": "Z31337"}, O("Z31337", "shipped", "2026-12-11"), ["2026-12-11"]),
    ("en", "Please track order number R90001, thanks!", ["order"], "order", {"order_id": "R90001"}, O("R90001", "delivered", "2026-11-28"), ["delivered"]),
    ("zh", "我的订单 A12345 到哪了？", ["order"], "order", {"order_id": "A12345"}, O("A12345", "已发货", "2026-12-08"), ["已发货"]),
    ("zh", "请帮我查询订单 B67890 的状态，谢谢", ["order2", "weather2"], "order2", {"tracking_number": "B67890"}, O("B67890", "处理中", "2026-12-20"), ["处理中"]),
    ("zh", "订单号 C24680，什么时候能送到？", ["order"], "order", {"order_id": "C24680"}, O("C24680", "已发货", "2026-12-06"), ["2026-12-06"]),
    ("zh", "查一下 D13579 这个单子", ["order2", "contact2"], "order2", {"tracking_number": "D13579"}, O("D13579", "已送达", "2026-11-30"), ["已送达"]),
    ("zh", "你好，我买的东西订单是 E11223，现在是什么情况？", ["order", "fx2"], "order", {"order_id": "E11223"}, O("E11223", "处理中", "2026-12-18"), ["处理中"]),
    ("zh", "Please check 订单 F99887 的状态", ["order2"], "order2", {"tracking_number": "F99887"}, O("F99887", "已发货", "2026-12-10"), ["已发货"]),
    # --- time
    ("en", "What time is it in Tokyo right now?", ["time"], "time", {"city": "Tokyo"}, T("Tokyo", "23:15"), ["23:15"]),
    ("en", "I need to call someone in Nairobi. What's the local time there?", ["time", "weather"], "time", {"city": "Nairobi"}, T("Nairobi", "14:05"), ["14:05"]),
    ("en", "current time in sydney?", ["time2"], "time2", {"timezone": "Sydney"}, T("Sydney", "08:40"), ["08:40"]),
    ("en", "Please tell me the local time in Paris.", ["time2", "stock"], "time2", {"timezone": "Paris"}, T("Paris", "17:52"), ["17:52"]),
    ("en", "Is it late in Shanghai now? What time is it there?", ["time", "contact", "fx"], "time", {"city": "Shanghai"}, T("Shanghai", "01:30"), ["01:30"]),
    ("en", "Check the clock in Lima for me, thank you.", ["time"], "time", {"city": "Lima"}, T("Lima", "06:12"), ["06:12"]),
    ("zh", "纽约……不对，我是说多伦多现在几点？", ["time"], "time", {"city": "多伦多"}, T("多伦多", "09:27"), ["09:27"]),
    ("zh", "柏林现在是几点钟？", ["time2"], "time2", {"timezone": "柏林"}, T("柏林", "11:03"), ["11:03"]),
    ("zh", "帮我看一下开罗当地时间", ["time", "weather2"], "time", {"city": "开罗"}, T("开罗", "15:44"), ["15:44"]),
    ("zh", "请问曼谷现在几点了？谢谢！", ["time2", "order"], "time2", {"timezone": "曼谷"}, T("曼谷", "20:18"), ["20:18"]),
    ("zh", "我要给奥斯陆的朋友打电话，那边现在几点？", ["time"], "time", {"city": "奥斯陆"}, T("奥斯陆", "03:55"), ["03:55"]),
    ("zh", "马德里 时间", ["time2", "stock2"], "time2", {"timezone": "马德里"}, T("马德里", "13:31"), ["13:31"]),
    # --- contacts
    ("en", "What's the email address of Anna Lind?", ["contact"], "contact", {"name": "Anna Lind"}, E("Anna Lind", "anna.lind@example.com"), ["anna.lind@example.com"]),
    ("en", "I need to write to Marco Falk. Can you find his email?", ["contact", "weather"], "contact", {"name": "Marco Falk"}, E("Marco Falk", "marco.falk@example.com"), ["marco.falk@example.com"]),
    ("en", "email of leon hale?", ["contact2"], "contact2", {"person": "Leon Hale"}, E("Leon Hale", "leon.hale@example.com"), ["leon.hale@example.com"]),
    ("en", "Please look up Sofia Grant's email in the directory.", ["contact2", "time"], "contact2", {"person": "Sofia Grant"}, E("Sofia Grant", "sofia.grant@example.com"), ["sofia.grant@example.com"]),
    ("en", "How do I reach Felix Moreau by email?", ["contact", "order", "stock"], "contact", {"name": "Felix Moreau"}, E("Felix Moreau", "felix.moreau@example.com"), ["felix.moreau@example.com"]),
    ("en", "Could you get me the e-mail of Ada Pike? Thanks!", ["contact"], "contact", {"name": "Ada Pike"}, E("Ada Pike", "ada.pike@example.com"), ["ada.pike@example.com"]),
    ("zh", "Nina Rowe 的邮箱是多少？", ["contact"], "contact", {"name": "Nina Rowe"}, E("Nina Rowe", "nina.rowe@example.com"), ["nina.rowe@example.com"]),
    ("zh", "帮我查一下同事 Ivan Brandt 的邮件地址", ["contact2", "weather2"], "contact2", {"person": "Ivan Brandt"}, E("Ivan Brandt", "ivan.brandt@example.com"), ["ivan.brandt@example.com"]),
    ("zh", "我要给 Clara Novak 发邮件，她的邮箱是什么？", ["contact", "fx2"], "contact", {"name": "Clara Novak"}, E("Clara Novak", "clara.novak@example.com"), ["clara.novak@example.com"]),
    ("zh", "请问 Tomas Orlov 的邮箱", ["contact2"], "contact2", {"person": "Tomas Orlov"}, E("Tomas Orlov", "tomas.orlov@example.com"), ["tomas.orlov@example.com"]),
    ("zh", "查询 Vera Kovac 的联系邮箱，谢谢", ["contact", "time2"], "contact", {"name": "Vera Kovac"}, E("Vera Kovac", "vera.kovac@example.com"), ["vera.kovac@example.com"]),
    ("zh", "Emil Quist 邮箱？", ["contact2", "order2"], "contact2", {"person": "Emil Quist"}, E("Emil Quist", "emil.quist@example.com"), ["emil.quist@example.com"]),
    # --- more variety: instructions around the request, typos, reordering
    ("en", "Don't guess, use the tool. What's the weather in Seoul?", ["weather", "time"], "weather", {"city": "Seoul"}, W("Seoul", 13, "windy"), ["13"]),
    ("en", "Stock: NFLX. Price? Answer in one sentence.", ["stock"], "stock", {"ticker": "NFLX"}, P("NFLX", 684.22), ["684.22"]),
    ("en", "Convret 90 EUR to USD plz", ["fx"], "fx", {"amount": 90, "from_currency": "EUR", "to_currency": "USD"}, X(90, "EUR", "USD", 97.11), ["97.11"]),
    ("en", "Whats the curent weather in Rome?", ["weather2"], "weather2", {"location": "Rome"}, W("Rome", 18, "sunny"), ["18"]),
    ("en", "For order G20202, tell me the status and the expected arrival date.", ["order"], "order", {"order_id": "G20202"}, O("G20202", "shipped", "2026-12-12"), ["2026-12-12"]),
    ("en", "Quick favour — Hugo Rell's email address, please.", ["contact"], "contact", {"name": "Hugo Rell"}, E("Hugo Rell", "hugo.rell@example.com"), ["hugo.rell@example.com"]),
    ("en", "Using the available tools, find out the time in Beijing.", ["time", "weather"], "time", {"city": "Beijing"}, T("Beijing", "22:08"), ["22:08"]),
    ("en", "I want to buy some SONY stock; what does it cost per share today?", ["stock2"], "stock2", {"symbol": "SONY"}, P("SONY", 19.87), ["19.87"]),
    ("en", "Please, I am in a hurry: 40 USD to JPY?", ["fx2"], "fx2", {"value": 40, "source": "USD", "target": "JPY"}, X(40, "USD", "JPY", 6012.0), ["6012"]),
    ("en", "Good morning! Is it raining in Shanghai?", ["weather"], "weather", {"city": "Shanghai"}, W("Shanghai", 14, "rainy"), ["rain"]),
    ("en", "Could you find Jonas Varga's email and send it to me?", ["contact2"], "contact2", {"person": "Jonas Varga"}, E("Jonas Varga", "jonas.varga@example.com"), ["jonas.varga@example.com"]),
    ("en", "Tracking H40404 — where is it?", ["order2"], "order2", {"tracking_number": "H40404"}, O("H40404", "delivered", "2026-12-02"), ["delivered"]),
    ("zh", "别猜，用工具查：开罗天气", ["weather"], "weather", {"city": "开罗"}, W("开罗", 31, "晴"), ["31"]),
    ("zh", "股票代码 BIDU，现价多少？简单回答", ["stock"], "stock", {"ticker": "BIDU"}, P("BIDU", 88.05), ["88.05"]),
    ("zh", "请把二百美元换成欧元", ["fx2"], "fx2", {"value": 200, "source": "USD", "target": "EUR"}, X(200, "USD", "EUR", 185.4), ["185.4"]),
    ("zh", "订单 J70707 预计哪天送到？", ["order"], "order", {"order_id": "J70707"}, O("J70707", "已发货", "2026-12-14"), ["2026-12-14"]),
    ("zh", "在线等，急！Mira Holm 的邮箱是多少？", ["contact"], "contact", {"name": "Mira Holm"}, E("Mira Holm", "mira.holm@example.com"), ["mira.holm@example.com"]),
    ("zh", "用可用的工具查一下悉尼现在几点", ["time2", "weather"], "time2", {"timezone": "悉尼"}, T("悉尼", "07:21"), ["07:21"]),
    ("zh", "内罗毕现在的天气和气温？", ["weather2"], "weather2", {"location": "内罗毕"}, W("内罗毕", 23, "多云"), ["23"]),
    ("zh", "我想买点 TSM 的股票，现在什么价？", ["stock2", "fx"], "stock2", {"symbol": "TSM"}, P("TSM", 171.5), ["171.5"]),
    ("zh", "麻烦帮我算下 888 人民币（CNY）能换多少韩元（KRW）", ["fx"], "fx", {"amount": 888, "from_currency": "CNY", "to_currency": "KRW"}, X(888, "CNY", "KRW", 170940.0), ["170940"]),
    ("zh", "利马当地时间是几点？", ["time"], "time", {"city": "利马"}, T("利马", "10:10"), ["10:10"]),
    ("zh", "订单状态查询：K80808", ["order2"], "order2", {"tracking_number": "K80808"}, O("K80808", "处理中", "2026-12-22"), ["处理中"]),
    ("zh", "请问同事 Leon Lind 的 email？", ["contact2"], "contact2", {"person": "Leon Lind"}, E("Leon Lind", "leon.lind@example.com"), ["leon.lind@example.com"]),
]

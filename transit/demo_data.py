"""Facts the demo network is generated from: cities, rail lines, airlines, holidays.

Coordinates are those of the city centres (typed in, rounded to about a kilometre); lines
follow the real high-speed and conventional corridors, their stations in travel order. Nothing
here is random: ``transit.demo`` draws the services, times, fares and history from these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoCity:
    """A city of the demo network.

    ``tier`` 1 is a national hub, 2 a provincial capital or big city, 3 a smaller city: it
    decides how many trains stop there and its connection time. ``air`` weighs the city's
    airport when flight routes are drawn (0: no airport with trunk routes).
    """

    key: str
    name: str
    code: str
    latitude: float
    longitude: float
    tier: int
    air: int = 0


CITIES: tuple[DemoCity, ...] = (
    # Hubs
    DemoCity("beijing", "北京", "PEK", 39.904, 116.407, 1, 10),
    DemoCity("shanghai", "上海", "SHA", 31.230, 121.474, 1, 10),
    DemoCity("guangzhou", "广州", "CAN", 23.129, 113.264, 1, 9),
    DemoCity("shenzhen", "深圳", "SZX", 22.543, 114.058, 1, 8),
    DemoCity("chengdu", "成都", "CTU", 30.573, 104.066, 1, 8),
    DemoCity("chongqing", "重庆", "CKG", 29.563, 106.551, 1, 7),
    DemoCity("wuhan", "武汉", "WUH", 30.593, 114.305, 1, 5),
    DemoCity("xian", "西安", "XIY", 34.341, 108.940, 1, 7),
    DemoCity("zhengzhou", "郑州", "CGO", 34.747, 113.625, 1, 4),
    DemoCity("nanjing", "南京", "NKG", 32.060, 118.797, 1, 4),
    DemoCity("hangzhou", "杭州", "HGH", 30.274, 120.155, 1, 6),
    DemoCity("changsha", "长沙", "CSX", 28.228, 112.939, 1, 4),
    DemoCity("kunming", "昆明", "KMG", 25.038, 102.718, 1, 8),
    # Provincial capitals and big cities
    DemoCity("tianjin", "天津", "TSN", 39.084, 117.201, 2, 3),
    DemoCity("shijiazhuang", "石家庄", "SJW", 38.042, 114.515, 2, 2),
    DemoCity("jinan", "济南", "TNA", 36.651, 117.120, 2, 3),
    DemoCity("xuzhou", "徐州", "XUZ", 34.205, 117.285, 2, 1),
    DemoCity("hefei", "合肥", "HFE", 31.821, 117.227, 2, 3),
    DemoCity("guiyang", "贵阳", "KWE", 26.647, 106.630, 2, 4),
    DemoCity("nanning", "南宁", "NNG", 22.817, 108.366, 2, 4),
    DemoCity("nanchang", "南昌", "KHN", 28.682, 115.858, 2, 3),
    DemoCity("fuzhou", "福州", "FOC", 26.074, 119.296, 2, 4),
    DemoCity("xiamen", "厦门", "XMN", 24.480, 118.089, 2, 6),
    DemoCity("lanzhou", "兰州", "LHW", 36.061, 103.834, 2, 4),
    DemoCity("urumqi", "乌鲁木齐", "URC", 43.825, 87.617, 2, 6),
    DemoCity("shenyang", "沈阳", "SHE", 41.806, 123.432, 2, 5),
    DemoCity("harbin", "哈尔滨", "HRB", 45.803, 126.535, 2, 5),
    DemoCity("changchun", "长春", "CGQ", 43.817, 125.324, 2, 4),
    DemoCity("dalian", "大连", "DLC", 38.914, 121.615, 2, 5),
    DemoCity("qingdao", "青岛", "TAO", 36.067, 120.383, 2, 5),
    DemoCity("taiyuan", "太原", "TYN", 37.870, 112.549, 2, 3),
    DemoCity("hohhot", "呼和浩特", "HET", 40.842, 111.749, 2, 3),
    DemoCity("haikou", "海口", "HAK", 20.044, 110.199, 2, 6),
    DemoCity("ningbo", "宁波", "NGB", 29.868, 121.544, 2, 3),
    DemoCity("yinchuan", "银川", "INC", 38.487, 106.231, 2, 3),
    DemoCity("xining", "西宁", "XNN", 36.617, 101.778, 2, 3),
    DemoCity("lhasa", "拉萨", "LXA", 29.652, 91.172, 2, 4),
    DemoCity("sanya", "三亚", "SYX", 18.253, 109.512, 2, 7),
    # Smaller cities
    DemoCity("guilin", "桂林", "KWL", 25.274, 110.290, 3, 3),
    DemoCity("wenzhou", "温州", "WNZ", 27.994, 120.699, 3, 2),
    DemoCity("wuxi", "无锡", "WUX", 31.491, 120.312, 3, 1),
    DemoCity("changzhou", "常州", "CZX", 31.811, 119.974, 3, 0),
    DemoCity("suzhou", "苏州", "SUZHOU", 31.299, 120.585, 3, 0),
    DemoCity("jiaxing", "嘉兴", "JIAXING", 30.746, 120.756, 3, 0),
    DemoCity("shaoxing", "绍兴", "SHAOXING", 30.000, 120.580, 3, 0),
    DemoCity("jinhua", "金华", "JINHUA", 29.079, 119.647, 3, 0),
    DemoCity("taizhou", "台州", "TAIZHOU", 28.656, 121.421, 3, 0),
    DemoCity("yantai", "烟台", "YNT", 37.464, 121.448, 3, 2),
    DemoCity("weifang", "潍坊", "WEF", 36.707, 119.162, 3, 0),
    DemoCity("baotou", "包头", "BAV", 40.658, 109.840, 3, 1),
    DemoCity("datong", "大同", "DAT", 40.077, 113.300, 3, 0),
    DemoCity("zhangjiakou", "张家口", "ZHANGJIAKOU", 40.767, 114.886, 3, 0),
    DemoCity("luoyang", "洛阳", "LYA", 34.620, 112.454, 3, 1),
    DemoCity("yichang", "宜昌", "YIH", 30.692, 111.287, 3, 1),
    DemoCity("xiangyang", "襄阳", "XFN", 32.009, 112.122, 3, 0),
    DemoCity("nanyang", "南阳", "NNY", 32.991, 112.528, 3, 0),
    DemoCity("zhangjiajie", "张家界", "DYG", 29.117, 110.479, 3, 2),
    DemoCity("huangshan", "黄山", "TXN", 29.715, 118.338, 3, 1),
    DemoCity("ganzhou", "赣州", "KOW", 25.831, 114.934, 3, 1),
    DemoCity("shantou", "汕头", "SWA", 23.354, 116.682, 3, 2),
    DemoCity("quanzhou", "泉州", "JJN", 24.874, 118.676, 3, 2),
    DemoCity("zhanjiang", "湛江", "ZHA", 21.271, 110.359, 3, 1),
    DemoCity("liuzhou", "柳州", "LZH", 24.326, 109.416, 3, 1),
    DemoCity("dali", "大理", "DLU", 25.607, 100.268, 3, 1),
    DemoCity("lijiang", "丽江", "LJG", 26.872, 100.227, 3, 3),
    DemoCity("panzhihua", "攀枝花", "PZI", 26.582, 101.718, 3, 0),
    DemoCity("mianyang", "绵阳", "MIG", 31.467, 104.679, 3, 0),
    DemoCity("zunyi", "遵义", "ZYI", 27.725, 106.927, 3, 0),
    DemoCity("lianyungang", "连云港", "LYG", 34.597, 119.222, 3, 0),
    DemoCity("fuyang", "阜阳", "FUG", 32.890, 115.814, 3, 0),
    DemoCity("qinhuangdao", "秦皇岛", "BPE", 39.935, 119.600, 3, 0),
    DemoCity("qiqihar", "齐齐哈尔", "NDG", 47.354, 123.918, 3, 1),
    DemoCity("jiayuguan", "嘉峪关", "JGN", 39.773, 98.289, 3, 0),
    DemoCity("zhangye", "张掖", "YZY", 38.925, 100.450, 3, 0),
    DemoCity("hami", "哈密", "HMI", 42.818, 93.515, 3, 0),
    DemoCity("turpan", "吐鲁番", "TLQ", 42.951, 89.189, 3, 0),
    DemoCity("golmud", "格尔木", "GOQ", 36.406, 94.903, 3, 0),
    DemoCity("tangshan", "唐山", "TVS", 39.631, 118.180, 3, 0),
    DemoCity("jinzhou", "锦州", "JNZ", 41.095, 121.127, 3, 0),
    DemoCity("handan", "邯郸", "HDG", 36.625, 114.539, 3, 0),
    DemoCity("baoding", "保定", "BAODING", 38.874, 115.464, 3, 0),
    DemoCity("dezhou", "德州", "DEZHOU", 37.436, 116.359, 3, 0),
    DemoCity("taian", "泰安", "TAIAN", 36.200, 117.087, 3, 0),
    DemoCity("qufu", "曲阜", "QUFU", 35.581, 116.986, 3, 0),
    DemoCity("bengbu", "蚌埠", "BENGBU", 32.916, 117.389, 3, 0),
    DemoCity("shangqiu", "商丘", "SHANGQIU", 34.414, 115.656, 3, 0),
    DemoCity("xinyang", "信阳", "XINYANG", 32.147, 114.091, 3, 0),
    DemoCity("yueyang", "岳阳", "YUEYANG", 29.357, 113.129, 3, 0),
    DemoCity("zhuzhou", "株洲", "ZHUZHOU", 27.827, 113.134, 3, 0),
    DemoCity("hengyang", "衡阳", "HNY", 26.894, 112.572, 3, 0),
    DemoCity("shaoguan", "韶关", "SHAOGUAN", 24.810, 113.597, 3, 0),
    DemoCity("huaihua", "怀化", "HUAIHUA", 27.570, 109.998, 3, 0),
    DemoCity("jiujiang", "九江", "JIUJIANG", 29.705, 116.002, 3, 0),
    DemoCity("baoji", "宝鸡", "BAOJI", 34.362, 107.238, 3, 0),
    DemoCity("tianshui", "天水", "TIANSHUI", 34.581, 105.725, 3, 0),
    DemoCity("hanzhong", "汉中", "HZG", 33.068, 107.023, 3, 0),
    DemoCity("hengshui", "衡水", "HENGSHUI", 37.739, 115.670, 3, 0),
    DemoCity("shangrao", "上饶", "SHANGRAO", 28.455, 117.943, 3, 0),
    DemoCity("qionghai", "琼海", "QIONGHAI", 19.258, 110.474, 3, 0),
)

# Minimum connection time by tier: changing at a hub means another station or the airport.
CONNECTION_MINUTES = {1: 20, 2: 15, 3: 10}


@dataclass(frozen=True)
class DemoLine:
    """A rail corridor and the trains drawn on it.

    ``speed`` is the design speed of a high-speed line (350, 250, 200) or ``"conv"`` for
    conventional track. ``trains`` maps a class (G, D, DS = sleeper D, Z, T, K) to the number
    of train pairs (one each way). ``delay`` scales the history's delays on this corridor.
    """

    name: str
    speed: str
    cities: tuple[str, ...]
    trains: tuple[tuple[str, int], ...]
    delay: float = 1.0


LINES: tuple[DemoLine, ...] = (
    # High-speed corridors
    DemoLine(
        "京沪高铁", "350",
        ("beijing", "tianjin", "dezhou", "jinan", "taian", "qufu", "xuzhou", "bengbu", "nanjing",
         "changzhou", "wuxi", "suzhou", "shanghai"),
        (("G", 14), ("DS", 1)), 0.8,
    ),
    DemoLine(
        "京广深高铁", "350",
        ("beijing", "baoding", "shijiazhuang", "handan", "zhengzhou", "xinyang", "wuhan", "yueyang",
         "changsha", "zhuzhou", "hengyang", "shaoguan", "guangzhou", "shenzhen"),
        (("G", 12), ("DS", 1)), 0.9,
    ),
    DemoLine(
        "沪昆高铁", "350",
        ("shanghai", "jiaxing", "hangzhou", "jinhua", "shangrao", "nanchang", "changsha", "huaihua",
         "guiyang", "kunming"),
        (("G", 8),), 1.1,
    ),
    DemoLine(
        "徐兰高铁", "350",
        ("xuzhou", "shangqiu", "zhengzhou", "luoyang", "xian", "baoji", "tianshui", "lanzhou"),
        (("G", 6),), 1.0,
    ),
    DemoLine(
        "连徐西高铁", "350",
        ("lianyungang", "xuzhou", "shangqiu", "zhengzhou", "luoyang", "xian"),
        (("G", 2),), 1.0,
    ),
    DemoLine(
        "兰新高铁", "250",
        ("lanzhou", "xining", "zhangye", "jiayuguan", "hami", "turpan", "urumqi"),
        (("D", 3),), 1.4,  # gales on the Gobi stretch
    ),
    DemoLine(
        "京哈高铁", "350",
        ("beijing", "tangshan", "qinhuangdao", "jinzhou", "shenyang", "changchun", "harbin"),
        (("G", 6),), 1.1,
    ),
    DemoLine(
        "哈大高铁", "350",
        ("harbin", "changchun", "shenyang", "dalian"),
        (("G", 4), ("D", 2)), 1.2,
    ),
    DemoLine("哈齐高铁", "250", ("harbin", "qiqihar"), (("D", 2),), 1.2),
    DemoLine(
        "青太高铁", "350",
        ("qingdao", "weifang", "jinan", "shijiazhuang", "taiyuan"),
        (("G", 5),), 1.0,
    ),
    DemoLine(
        "京青高铁", "350",
        ("beijing", "tianjin", "dezhou", "jinan", "weifang", "qingdao"),
        (("G", 4),), 0.9,
    ),
    DemoLine("青烟高铁", "250", ("qingdao", "yantai"), (("D", 2),), 1.0),
    DemoLine(
        "杭深铁路", "250",
        ("hangzhou", "shaoxing", "ningbo", "taizhou", "wenzhou", "fuzhou", "quanzhou", "xiamen",
         "shantou", "shenzhen"),
        (("D", 6), ("G", 2)), 1.2,  # typhoons on the coast
    ),
    DemoLine(
        "沪甬温福高铁", "350",
        ("shanghai", "jiaxing", "hangzhou", "ningbo", "wenzhou", "fuzhou", "xiamen"),
        (("G", 2),), 1.1,
    ),
    DemoLine("成渝高铁", "350", ("chengdu", "chongqing"), (("G", 6),), 0.9),
    DemoLine(
        "沪汉蓉高铁", "250",
        ("shanghai", "suzhou", "nanjing", "hefei", "wuhan", "yichang", "chongqing", "chengdu"),
        (("G", 5), ("D", 3)), 1.2,
    ),
    DemoLine("西成高铁", "250", ("xian", "hanzhong", "mianyang", "chengdu"), (("G", 3), ("D", 1)), 1.0),
    DemoLine("渝贵铁路", "250", ("chongqing", "zunyi", "guiyang"), (("G", 2), ("D", 1)), 1.0),
    DemoLine("贵广高铁", "250", ("guiyang", "guilin", "guangzhou"), (("G", 2), ("D", 1)), 1.0),
    DemoLine(
        "湘桂高铁", "250",
        ("changsha", "hengyang", "guilin", "liuzhou", "nanning"),
        (("D", 3),), 1.1,
    ),
    DemoLine("南广高铁", "250", ("nanning", "guangzhou"), (("D", 3),), 1.0),
    DemoLine("贵南高铁", "350", ("guiyang", "nanning"), (("G", 2),), 1.0),
    DemoLine("成贵高铁", "250", ("chengdu", "guiyang"), (("G", 1), ("D", 1)), 1.0),
    DemoLine(
        "京张呼包高铁", "250",
        ("beijing", "zhangjiakou", "datong", "hohhot", "baotou"),
        (("G", 3), ("D", 2)), 1.2,
    ),
    DemoLine("大西高铁", "250", ("datong", "taiyuan", "xian"), (("D", 2),), 1.1),
    DemoLine("银西高铁", "250", ("xian", "yinchuan"), (("D", 2),), 1.1),
    DemoLine(
        "郑渝高铁", "350",
        ("zhengzhou", "nanyang", "xiangyang", "chongqing"),
        (("G", 3),), 1.0,
    ),
    DemoLine(
        "京福厦高铁", "350",
        ("beijing", "jinan", "xuzhou", "bengbu", "hefei", "huangshan", "shangrao", "fuzhou",
         "quanzhou", "xiamen"),
        (("G", 2),), 1.0,
    ),
    DemoLine("合福高铁", "350", ("hefei", "huangshan", "shangrao", "fuzhou"), (("G", 2),), 1.0),
    DemoLine(
        "商合杭高铁", "350",
        ("zhengzhou", "shangqiu", "fuyang", "hefei", "hangzhou"),
        (("G", 2),), 1.0,
    ),
    DemoLine("昌赣深高铁", "350", ("nanchang", "ganzhou", "shenzhen"), (("G", 3),), 1.0),
    DemoLine("武九高铁", "250", ("wuhan", "jiujiang", "nanchang"), (("D", 3),), 1.0),
    DemoLine("宁杭高铁", "350", ("nanjing", "hangzhou"), (("G", 3),), 0.9),
    DemoLine("杭黄高铁", "250", ("hangzhou", "huangshan"), (("D", 2),), 1.0),
    DemoLine("长张高铁", "350", ("changsha", "zhangjiajie"), (("G", 2),), 1.0),
    DemoLine("海南环岛高铁", "250", ("haikou", "qionghai", "sanya"), (("D", 5),), 1.3),
    DemoLine("广湛高铁", "250", ("guangzhou", "zhanjiang"), (("D", 2),), 1.1),
    DemoLine("昆大丽铁路", "200", ("kunming", "dali", "lijiang"), (("D", 3),), 1.0),
    DemoLine(
        "京昆高铁", "350",
        ("beijing", "shijiazhuang", "zhengzhou", "wuhan", "changsha", "huaihua", "guiyang",
         "kunming"),
        (("G", 1),), 1.0,
    ),
    # Conventional corridors
    DemoLine(
        "京沪线", "conv",
        ("beijing", "tianjin", "dezhou", "jinan", "xuzhou", "bengbu", "nanjing", "changzhou",
         "wuxi", "suzhou", "shanghai"),
        (("Z", 2), ("T", 1), ("K", 2)), 1.0,
    ),
    DemoLine(
        "京广线", "conv",
        ("beijing", "baoding", "shijiazhuang", "handan", "zhengzhou", "xinyang", "wuhan",
         "yueyang", "changsha", "zhuzhou", "hengyang", "shaoguan", "guangzhou"),
        (("Z", 2), ("T", 2), ("K", 3)), 1.0,
    ),
    DemoLine(
        "京哈线", "conv",
        ("beijing", "tianjin", "tangshan", "qinhuangdao", "jinzhou", "shenyang", "changchun",
         "harbin", "qiqihar"),
        (("Z", 1), ("T", 2), ("K", 2)), 1.2,
    ),
    DemoLine(
        "沪昆线", "conv",
        ("shanghai", "jiaxing", "hangzhou", "jinhua", "shangrao", "nanchang", "zhuzhou",
         "huaihua", "guiyang", "kunming"),
        (("Z", 1), ("T", 1), ("K", 2)), 1.2,
    ),
    DemoLine(
        "陇海线", "conv",
        ("lianyungang", "xuzhou", "shangqiu", "zhengzhou", "luoyang", "xian", "baoji", "tianshui",
         "lanzhou"),
        (("T", 1), ("K", 3)), 1.1,
    ),
    DemoLine(
        "兰新线", "conv",
        ("lanzhou", "zhangye", "jiayuguan", "hami", "turpan", "urumqi"),
        (("T", 1), ("K", 2)), 1.4,
    ),
    DemoLine(
        "京新直达", "conv",
        ("beijing", "shijiazhuang", "zhengzhou", "xian", "lanzhou", "jiayuguan", "hami", "turpan",
         "urumqi"),
        (("Z", 1),), 1.3,
    ),
    DemoLine(
        "京藏直达", "conv",
        ("beijing", "shijiazhuang", "taiyuan", "lanzhou", "xining", "golmud", "lhasa"),
        (("Z", 1),), 1.5,
    ),
    DemoLine(
        "沪藏直达", "conv",
        ("shanghai", "nanjing", "xuzhou", "zhengzhou", "xian", "lanzhou", "xining", "golmud",
         "lhasa"),
        (("Z", 1),), 1.5,
    ),
    DemoLine("青藏线", "conv", ("xining", "golmud", "lhasa"), (("K", 1),), 1.5),
    DemoLine(
        "京包线", "conv",
        ("beijing", "zhangjiakou", "datong", "hohhot", "baotou"),
        (("K", 2),), 1.2,
    ),
    DemoLine(
        "包兰线", "conv",
        ("beijing", "zhangjiakou", "datong", "hohhot", "baotou", "yinchuan", "lanzhou"),
        (("T", 1), ("K", 1)), 1.2,
    ),
    DemoLine(
        "焦柳线", "conv",
        ("luoyang", "nanyang", "xiangyang", "yichang", "zhangjiajie", "huaihua", "liuzhou"),
        (("K", 2),), 1.2,
    ),
    DemoLine(
        "京九线", "conv",
        ("beijing", "hengshui", "shangqiu", "fuyang", "jiujiang", "nanchang", "ganzhou",
         "shenzhen"),
        (("Z", 1), ("T", 1), ("K", 2)), 1.1,
    ),
    DemoLine(
        "宝成线", "conv",
        ("xian", "baoji", "hanzhong", "mianyang", "chengdu"),
        (("K", 2),), 1.3,
    ),
    DemoLine("成昆线", "conv", ("chengdu", "panzhihua", "kunming"), (("K", 2),), 1.4),
    DemoLine(
        "川黔贵昆线", "conv",
        ("chongqing", "zunyi", "guiyang", "kunming"),
        (("K", 2),), 1.3,
    ),
    DemoLine("成渝线", "conv", ("chengdu", "chongqing"), (("K", 1),), 1.0),
    DemoLine(
        "粤海线", "conv",
        ("guangzhou", "zhanjiang", "haikou", "sanya"),
        (("K", 1),), 1.4,
    ),
    DemoLine(
        "京琼直达", "conv",
        ("beijing", "shijiazhuang", "zhengzhou", "wuhan", "changsha", "guangzhou", "zhanjiang",
         "haikou", "sanya"),
        (("Z", 1),), 1.3,
    ),
    DemoLine(
        "京南直达", "conv",
        ("beijing", "shijiazhuang", "zhengzhou", "wuhan", "changsha", "hengyang", "guilin",
         "liuzhou", "nanning"),
        (("Z", 1),), 1.2,
    ),
    DemoLine(
        "湘桂线", "conv",
        ("changsha", "hengyang", "guilin", "liuzhou", "nanning"),
        (("K", 1),), 1.1,
    ),
    DemoLine(
        "京大线", "conv",
        ("beijing", "tianjin", "tangshan", "qinhuangdao", "jinzhou", "dalian"),
        (("T", 1),), 1.2,
    ),
    DemoLine("沈大线", "conv", ("shenyang", "dalian"), (("K", 1),), 1.1),
    DemoLine(
        "京青线", "conv",
        ("beijing", "tianjin", "dezhou", "jinan", "weifang", "qingdao"),
        (("T", 1), ("K", 1)), 1.0,
    ),
    DemoLine(
        "京烟线", "conv",
        ("beijing", "tianjin", "dezhou", "jinan", "weifang", "yantai"),
        (("K", 1),), 1.0,
    ),
    DemoLine(
        "沪广线", "conv",
        ("shanghai", "hangzhou", "jinhua", "shangrao", "nanchang", "zhuzhou", "hengyang",
         "shaoguan", "guangzhou"),
        (("T", 1), ("K", 1)), 1.1,
    ),
    DemoLine(
        "沪西线", "conv",
        ("shanghai", "suzhou", "wuxi", "nanjing", "bengbu", "xuzhou", "shangqiu", "zhengzhou",
         "luoyang", "xian"),
        (("Z", 1), ("T", 1)), 1.0,
    ),
    DemoLine(
        "京太线", "conv",
        ("beijing", "baoding", "shijiazhuang", "taiyuan"),
        (("K", 1),), 1.0,
    ),
    DemoLine("北同蒲线", "conv", ("datong", "taiyuan"), (("K", 1),), 1.1),
)

# Track length over great-circle distance, per leg between adjacent cities of a line (the
# cities themselves already bend the line: Beijing-Shanghai comes to 1,410 km, 1,318 real);
# mountain lines wind more.
DETOUR = 1.1
LEG_DETOUR: dict[frozenset[str], float] = {
    frozenset(("xining", "golmud")): 1.3,
    frozenset(("golmud", "lhasa")): 1.38,
    frozenset(("chengdu", "panzhihua")): 1.35,
    frozenset(("panzhihua", "kunming")): 1.35,
    frozenset(("baoji", "hanzhong")): 1.4,
    frozenset(("zhanjiang", "haikou")): 1.3,
}
# Conventional track where trains run slower than their class allows (speed multiplier).
LEG_SLOWDOWN: dict[frozenset[str], float] = {
    frozenset(("xining", "golmud")): 0.85,
    frozenset(("golmud", "lhasa")): 0.75,
    frozenset(("chengdu", "panzhihua")): 0.75,
    frozenset(("panzhihua", "kunming")): 0.8,
    frozenset(("baoji", "hanzhong")): 0.7,
    frozenset(("hanzhong", "mianyang")): 0.8,
    frozenset(("chongqing", "zunyi")): 0.8,
    frozenset(("zunyi", "guiyang")): 0.85,
    frozenset(("guiyang", "kunming")): 0.8,
    frozenset(("huaihua", "guiyang")): 0.85,
    frozenset(("yichang", "zhangjiajie")): 0.8,
    frozenset(("zhangjiajie", "huaihua")): 0.8,
}
# The Qiongzhou Strait: trains cross to Hainan on a train ferry.
FERRY_LEGS: frozenset[frozenset[str]] = frozenset({frozenset(("zhanjiang", "haikou"))})
FERRY_SPEED_KMH = 35.0

# Cruising speeds (km/h) of each class; high-speed classes by the line's design speed.
CRUISE_KMH: dict[tuple[str, str], tuple[float, float]] = {
    ("G", "350"): (300.0, 330.0),
    ("G", "250"): (225.0, 245.0),
    ("D", "350"): (235.0, 250.0),
    ("D", "250"): (200.0, 230.0),
    ("D", "200"): (170.0, 190.0),
    ("DS", "350"): (165.0, 180.0),  # sleeper D: paced to arrive in the morning
    ("Z", "conv"): (125.0, 140.0),
    ("T", "conv"): (105.0, 118.0),
    ("K", "conv"): (85.0, 98.0),
}
# Minutes lost braking and accelerating at each stop.
STOP_PENALTY_MINUTES = {"G": 3, "D": 3, "DS": 3, "Z": 3, "T": 3, "K": 3}
# Dwell at an intermediate stop (minutes, inclusive).
DWELL_MINUTES = {"G": (2, 5), "D": (2, 5), "DS": (2, 5), "Z": (3, 8), "T": (3, 8), "K": (3, 8)}

# Second class / hard seat-or-sleeper fares, CNY per km of track.
FARE_PER_KM = {"G": 0.46, "D": 0.31, "DS": 0.48, "Z": 0.20, "T": 0.17, "K": 0.15}

# Chance that an intermediate city of a given tier is served, by class.
STOP_CHANCE = {
    "G": {1: 0.9, 2: 0.6, 3: 0.3},
    "D": {1: 0.95, 2: 0.8, 3: 0.6},
    "DS": {1: 0.8, 2: 0.3, 3: 0.1},
    "Z": {1: 0.5, 2: 0.2, 3: 0.0},
    "T": {1: 0.9, 2: 0.6, 3: 0.3},
    "K": {1: 1.0, 2: 0.9, 3: 0.8},
}
TRAIN_OPERATOR = "中国铁路"

# Airlines: code, operator name, first flight number, home airports.
AIRLINES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("CA", "中国国际航空", 1501, ("beijing", "chengdu", "chongqing", "hangzhou", "tianjin")),
    ("MU", "中国东方航空", 5101, ("shanghai", "kunming", "xian", "nanjing", "wuhan", "hefei", "nanchang", "lanzhou", "taiyuan")),
    ("CZ", "中国南方航空", 3101, ("guangzhou", "shenyang", "harbin", "changchun", "dalian", "urumqi", "changsha", "zhengzhou", "guiyang", "nanning")),
    ("HU", "海南航空", 7101, ("haikou", "sanya")),
    ("3U", "四川航空", 8801, ("chengdu", "chongqing")),
    ("MF", "厦门航空", 8101, ("xiamen", "fuzhou", "quanzhou")),
    ("ZH", "深圳航空", 9701, ("shenzhen",)),
    ("FM", "上海航空", 9101, ("shanghai",)),
    ("SC", "山东航空", 4601, ("jinan", "qingdao", "yantai")),
    ("8L", "祥鹏航空", 9901, ("kunming", "lijiang")),
)
FLIGHT_MIN_KM = 600.0
FLIGHT_ROUTE_PAIRS = 70
FLIGHT_FARE_PER_KM = (0.6, 0.9)
CRUISE_BLOCK_KMH = 750.0
# How much worse than average each airport's departures run (congestion, weather).
AIRPORT_DELAY = {
    "beijing": 1.3, "shanghai": 1.5, "guangzhou": 1.2, "shenzhen": 1.2, "chengdu": 1.3,
    "chongqing": 1.2, "kunming": 1.25, "xian": 1.1, "hangzhou": 1.2, "wuhan": 1.1,
    "lhasa": 1.3, "urumqi": 1.1, "sanya": 1.15, "haikou": 1.15,
}

# Fixed dates keep the data reproducible: timetables are valid through 2028.
VALID_FROM = dt.date(2026, 1, 1)
VALID_TO = dt.date(2028, 12, 31)
# Public holidays as the demo assumes them (no make-up working days).
HOLIDAYS: tuple[tuple[dt.date, dt.date], ...] = (
    (dt.date(2026, 1, 1), dt.date(2026, 1, 3)),
    (dt.date(2026, 2, 15), dt.date(2026, 2, 23)),
    (dt.date(2026, 4, 4), dt.date(2026, 4, 6)),
    (dt.date(2026, 5, 1), dt.date(2026, 5, 5)),
    (dt.date(2026, 6, 19), dt.date(2026, 6, 21)),
    (dt.date(2026, 9, 25), dt.date(2026, 9, 27)),
    (dt.date(2026, 10, 1), dt.date(2026, 10, 7)),
    (dt.date(2027, 1, 1), dt.date(2027, 1, 3)),
    (dt.date(2027, 2, 5), dt.date(2027, 2, 11)),
    (dt.date(2027, 4, 3), dt.date(2027, 4, 5)),
    (dt.date(2027, 5, 1), dt.date(2027, 5, 5)),
    (dt.date(2027, 6, 9), dt.date(2027, 6, 11)),
    (dt.date(2027, 9, 15), dt.date(2027, 9, 17)),
    (dt.date(2027, 10, 1), dt.date(2027, 10, 7)),
    (dt.date(2028, 1, 1), dt.date(2028, 1, 3)),
    (dt.date(2028, 1, 25), dt.date(2028, 1, 31)),
    (dt.date(2028, 10, 1), dt.date(2028, 10, 7)),
)
# Spring Festival eve and day, when some trains do not run.
SPRING_FESTIVAL_DAYS = (
    dt.date(2026, 2, 16), dt.date(2026, 2, 17),
    dt.date(2027, 2, 5), dt.date(2027, 2, 6),
    dt.date(2028, 1, 25), dt.date(2028, 1, 26),
)

"""Reference data of the sample world: cities, names, procedures, prices, products.

Everything here is fictional but shaped like the real market: clinic and product
brands are invented on purpose, so that a sample licence revoked by the
generator never points at a real business or a real product.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    province: str
    tier: str  # 一线, 新一线, 二线
    admin_code: str  # 6-digit administrative division code, used in licence numbers
    weight: float  # relative size of the local aesthetics market
    districts: tuple[str, ...]
    streets: tuple[str, ...]
    satellites: tuple[str, ...]  # nearby smaller cities whose buyers travel here


# Order matters: `SampleConfig.cities = N` uses the first N.
CITIES: tuple[City, ...] = (
    City("成都", "四川", "新一线", "510100", 1.30,
         ("锦江区", "青羊区", "金牛区", "武侯区", "成华区", "高新区", "天府新区", "双流区"),
         ("春熙路", "红星路三段", "人民南路四段", "天府大道北段", "蜀都大道", "科华北路", "东大街",
          "总府路", "玉林西路", "交子大道"),
         ("绵阳", "德阳", "眉山", "乐山", "南充", "宜宾", "自贡", "泸州", "雅安", "遂宁")),
    City("重庆", "重庆", "新一线", "500100", 0.95,
         ("渝中区", "江北区", "南岸区", "渝北区", "九龙坡区", "沙坪坝区"),
         ("民族路", "邹容路", "建新北路", "金开大道", "杨家坪正街", "三峡广场路", "南坪西路",
          "龙湖路"),
         ("万州", "涪陵", "永川", "遵义", "达州", "广安", "黔江")),
    City("上海", "上海", "一线", "310100", 1.40,
         ("黄浦区", "静安区", "徐汇区", "长宁区", "浦东新区", "闵行区"),
         ("南京西路", "淮海中路", "陆家嘴环路", "长乐路", "漕溪北路", "虹桥路", "世纪大道",
          "茂名南路"),
         ("南通", "嘉兴", "无锡", "常州", "宁波", "合肥", "温州")),
    City("北京", "北京", "一线", "110100", 1.30,
         ("朝阳区", "海淀区", "东城区", "西城区", "丰台区", "通州区"),
         ("建国路", "三里屯路", "中关村大街", "王府井大街", "东三环中路", "西单北大街", "望京街",
          "酒仙桥路"),
         ("保定", "廊坊", "石家庄", "唐山", "张家口", "太原", "呼和浩特")),
    City("广州", "广东", "一线", "440100", 1.10,
         ("天河区", "越秀区", "海珠区", "荔湾区", "番禺区", "白云区"),
         ("天河路", "体育西路", "环市东路", "北京路", "中山五路", "江南大道中", "珠江新城花城大道"),
         ("佛山", "中山", "江门", "清远", "湛江", "韶关", "肇庆")),
    City("深圳", "广东", "一线", "440300", 1.00,
         ("福田区", "南山区", "罗湖区", "宝安区", "龙岗区"),
         ("深南大道", "华强北路", "海德三道", "东门中路", "新安六路", "龙岗大道", "益田路"),
         ("东莞", "惠州", "汕头", "珠海", "河源", "汕尾")),
    City("杭州", "浙江", "新一线", "330100", 0.80,
         ("上城区", "拱墅区", "西湖区", "滨江区", "余杭区"),
         ("延安路", "庆春路", "文三路", "武林路", "江南大道", "文一西路"),
         ("绍兴", "湖州", "金华", "台州", "衢州")),
    City("武汉", "湖北", "新一线", "420100", 0.60,
         ("江汉区", "江岸区", "武昌区", "洪山区", "汉阳区"),
         ("解放大道", "中山大道", "中南路", "光谷大道", "武珞路", "建设大道"),
         ("孝感", "黄冈", "宜昌", "襄阳", "荆州")),
    City("西安", "陕西", "新一线", "610100", 0.55,
         ("雁塔区", "碑林区", "新城区", "莲湖区", "未央区"),
         ("小寨东路", "长安北路", "高新路", "东大街", "凤城八路", "南二环西段"),
         ("咸阳", "宝鸡", "渭南", "延安", "汉中")),
    City("南京", "江苏", "新一线", "320100", 0.55,
         ("玄武区", "秦淮区", "鼓楼区", "建邺区", "江宁区"),
         ("中山路", "汉中路", "江东中路", "中央路", "太平南路", "双龙大道"),
         ("扬州", "镇江", "马鞍山", "淮安", "芜湖")),
    City("长沙", "湖南", "新一线", "430100", 0.50,
         ("芙蓉区", "天心区", "岳麓区", "开福区", "雨花区"),
         ("五一大道", "黄兴中路", "芙蓉中路", "解放西路", "麓山南路", "韶山中路"),
         ("株洲", "湘潭", "岳阳", "衡阳", "常德")),
    City("苏州", "江苏", "新一线", "320500", 0.45,
         ("姑苏区", "工业园区", "虎丘区", "吴中区", "相城区"),
         ("干将路", "观前街", "星海街", "人民路", "苏州大道东", "长江路"),
         ("昆山", "常熟", "张家港", "吴江", "太仓")),
    City("天津", "天津", "新一线", "120100", 0.40,
         ("和平区", "南开区", "河西区", "河东区", "滨海新区"),
         ("南京路", "卫津路", "友谊路", "大沽北路", "黄河道", "第三大街"),
         ("沧州", "承德", "衡水", "秦皇岛")),
    City("昆明", "云南", "二线", "530100", 0.35,
         ("五华区", "盘龙区", "官渡区", "西山区", "呈贡区"),
         ("东风西路", "北京路", "青年路", "金碧路", "春城路", "滇池路"),
         ("曲靖", "玉溪", "大理", "红河", "昭通")),
    City("郑州", "河南", "新一线", "410100", 0.40,
         ("金水区", "二七区", "中原区", "管城区", "郑东新区"),
         ("花园路", "二七路", "农业路", "金水路", "商都路", "中原路"),
         ("洛阳", "开封", "新乡", "许昌", "南阳")),
    City("青岛", "山东", "新一线", "370200", 0.35,
         ("市南区", "市北区", "崂山区", "李沧区", "黄岛区"),
         ("香港中路", "台东一路", "山东路", "延吉路", "海尔路", "长江中路"),
         ("烟台", "潍坊", "日照", "威海")),
)

# Cities that draw buyers from far away (travel hubs of the blue book).
HUBS = ("成都", "重庆", "上海", "北京", "广州", "深圳")

CITY_TIER_PRICE = {"一线": 1.15, "新一线": 1.0, "二线": 0.9}

CLINIC_TYPES = ("医疗美容医院", "医疗美容门诊部", "医疗美容诊所", "综合医院医疗美容科")
CLINIC_TYPE_WEIGHTS = (0.15, 0.35, 0.40, 0.10)

# Invented brands; a few carry Latin letters so that registry names spelt with
# full-width letters exercise the GOV-01 name normalisation.
CLINIC_BRANDS = (
    "悦颜", "雅美", "臻美", "丽人", "尚美", "艺美", "维美", "伊莲", "瑞丽", "薇格", "美瑞", "思美",
    "蔓蓝", "禾美", "初见", "花漾", "新丽", "美佳", "素妍", "和美", "恒美", "致美", "美立方",
    "华颜", "嘉丽", "妍美", "铂丽", "璞美", "玺悦", "星颜", "悦丽", "美莎", "蕾娜", "俏佳人",
    "缇香", "颜究所", "沐光", "青柠", "若水", "时光", "ME美学", "JK", "V美", "SO美",
)
HOSPITAL_BRANDS = ("仁和", "博爱", "康华", "安康", "华夏", "明德", "宏仁", "惠民", "济安", "瑞康")
BUILDINGS = ("国际大厦", "金融中心", "时代广场", "银泰中心", "环球中心", "财富广场", "万象城",
             "太古里", "中心大厦", "商务中心")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万"
    "钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红燕文辉建晶婷雪琳颖倩慧欣悦思雨佳宇浩"
    "鹏飞晨阳瑶怡楠凯博峰莉蕾蓉琴云翔宁璐薇帆莹妍菲露志海东俊岚卓然嘉诚"
)

DEPARTMENTS = ("美容外科", "美容皮肤科", "美容牙科", "美容中医科")
DEPT_SURG, DEPT_DERM, DEPT_DENT, DEPT_TCM = range(4)


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    category: str  # surgical, injectable, energy, dental, tcm
    dept: int  # index into DEPARTMENTS
    product_category: str | None  # registry 类别 the product must have
    price: tuple[int, int]  # list price range in CNY (新一线 city, untiered clinic)
    weight: float  # share of the order mix
    grade: int | None = None  # 医疗美容项目分级 of a 美容外科 procedure (feeds.md), GOV-14


PROCEDURES: tuple[Procedure, ...] = (
    Procedure("P01", "双眼皮", "surgical", DEPT_SURG, None, (6000, 25000), 6.0, grade=1),
    Procedure("P02", "鼻综合", "surgical", DEPT_SURG, "其他", (15000, 60000), 3.0, grade=3),
    Procedure("P03", "吸脂", "surgical", DEPT_SURG, None, (10000, 50000), 2.5, grade=2),
    Procedure("P04", "隆胸", "surgical", DEPT_SURG, "乳房植入体", (30000, 80000), 1.2, grade=3),
    Procedure("P05", "玻尿酸填充", "injectable", DEPT_DERM, "透明质酸钠填充剂", (2000, 12000),
              16.0),
    Procedure("P06", "肉毒素除皱", "injectable", DEPT_DERM, "A型肉毒毒素", (800, 5000), 14.0),
    Procedure("P07", "水光针", "injectable", DEPT_DERM, "透明质酸钠填充剂", (600, 3000), 15.0),
    Procedure("P08", "热玛吉", "energy", DEPT_DERM, "射频治疗仪", (8000, 30000), 6.0),
    Procedure("P09", "光子嫩肤", "energy", DEPT_DERM, "强脉冲光治疗仪", (500, 3000), 12.0),
    Procedure("P10", "超声炮", "energy", DEPT_DERM, "超声治疗仪", (5000, 20000), 5.0),
    Procedure("P11", "皮秒祛斑", "energy", DEPT_DERM, "激光治疗仪", (1000, 6000), 8.0),
    Procedure("P12", "牙齿美白", "dental", DEPT_DENT, None, (500, 3000), 4.0),
    Procedure("P13", "中医美容", "tcm", DEPT_TCM, None, (300, 2000), 3.0),
)
PROC_INDEX = {p.code: i for i, p in enumerate(PROCEDURES)}
P01, P02, P03, P04, P05, P06, P07 = (
    PROC_INDEX[c] for c in ("P01", "P02", "P03", "P04", "P05", "P06", "P07"))
ENERGY_PROCS = tuple(i for i, p in enumerate(PROCEDURES) if p.category == "energy")
INJECTABLE_PROCS = tuple(i for i, p in enumerate(PROCEDURES) if p.category == "injectable")
SURGICAL_PROCS = tuple(i for i, p in enumerate(PROCEDURES) if p.category == "surgical")
# Procedures that need a registered product (rules.md GOV-05: P04..P11).
PRODUCT_PROCS = tuple(i for i, p in enumerate(PROCEDURES) if p.product_category and i != P02)

# Fee templates: the keys of fee_items in order and the share range of each key
# but the last, which takes the remainder (so items always sum to paid_amount).
# Mandatory items (feeds.md): surgical surgery+anesthesia, injectable product,
# energy device.
FEE_TEMPLATES: tuple[tuple[tuple[str, float, float], ...], ...] = (
    # 0 双眼皮
    (("surgery", 0.68, 0.76), ("anesthesia", 0.08, 0.12), ("checkup", 0.02, 0.04),
     ("medication", 0.02, 0.04), ("aftercare", 0, 0)),
    # 1 鼻综合 without implant
    (("surgery", 0.62, 0.72), ("anesthesia", 0.10, 0.15), ("checkup", 0.02, 0.04),
     ("medication", 0.02, 0.04), ("aftercare", 0, 0)),
    # 2 鼻综合 with implant
    (("surgery", 0.50, 0.58), ("anesthesia", 0.10, 0.13), ("product", 0.15, 0.22),
     ("checkup", 0.02, 0.03), ("aftercare", 0, 0)),
    # 3 吸脂
    (("surgery", 0.58, 0.66), ("anesthesia", 0.12, 0.16), ("hospitalization", 0.05, 0.09),
     ("medication", 0.03, 0.05), ("aftercare", 0, 0)),
    # 4 隆胸
    (("surgery", 0.35, 0.42), ("anesthesia", 0.10, 0.12), ("product", 0.30, 0.36),
     ("hospitalization", 0.04, 0.06), ("aftercare", 0, 0)),
    # 5 injectable
    (("product", 0.75, 0.88), ("checkup", 0.02, 0.05), ("aftercare", 0, 0)),
    # 6 energy
    (("device", 0.82, 0.94), ("aftercare", 0, 0)),
    # 7 dental
    (("device", 0.50, 0.65), ("checkup", 0.10, 0.20), ("aftercare", 0, 0)),
    # 8 tcm
    (("medication", 0.30, 0.50), ("checkup", 0.08, 0.15), ("aftercare", 0, 0)),
    # 9..: defective variants used by GOV-08 injection (mandatory item missing)
    # 9 surgical without anesthesia
    (("surgery", 0.80, 0.88), ("checkup", 0.02, 0.04), ("aftercare", 0, 0)),
    # 10 injectable without product
    (("checkup", 0.05, 0.10), ("aftercare", 0, 0)),
    # 11 energy without device
    (("checkup", 0.10, 0.20), ("aftercare", 0, 0)),
)
FEE_TEMPLATE_BY_PROC = {
    "P01": 0, "P02": 1, "P03": 3, "P04": 4, "P05": 5, "P06": 5, "P07": 5,
    "P08": 6, "P09": 6, "P10": 6, "P11": 6, "P12": 7, "P13": 8,
}
FEE_P02_IMPLANT = 2
FEE_MISSING_MANDATORY = {"surgical": 9, "injectable": 10, "energy": 11}
FEE_SLOTS = 4  # at most four shares are stored per order; the fifth key is the remainder

CHANNELS = ("app", "mini_program", "live_stream", "video_consult", "offline_referral")
GENDERS = ("F", "M", "U")
ORDER_STATUSES = ("created", "paid", "completed", "refunded", "cancelled")
COMPLAINT_TYPES = ("infection", "outcome_mismatch", "hidden_fee", "service_attitude", "other")
COMPLAINT_TYPE_WEIGHTS = (0.08, 0.35, 0.20, 0.25, 0.12)

TITLES = ("主任医师", "副主任医师", "主治医师", "医师")

# Physician scopes (执业范围) and their 执业类别.
SCOPE_SURGERY = "外科专业"
SCOPE_DERM = "皮肤病与性病专业"
SCOPE_AESTHETIC = "医疗美容专业"
SCOPE_DENTAL = "口腔专业"
SCOPE_ENT = "眼耳鼻咽喉科专业"
SCOPE_TCM = "中医专业"
SCOPE_CATEGORY = {
    SCOPE_SURGERY: "临床", SCOPE_DERM: "临床", SCOPE_AESTHETIC: "临床", SCOPE_ENT: "临床",
    SCOPE_DENTAL: "口腔", SCOPE_TCM: "中医",
}
# Which 执业范围 permits which department (feeds.md, "Which physician may perform what").
SCOPE_PERMITS = {
    SCOPE_SURGERY: {DEPT_SURG},
    SCOPE_AESTHETIC: {DEPT_SURG, DEPT_DERM},
    SCOPE_DERM: {DEPT_DERM},
    SCOPE_DENTAL: {DEPT_DENT},
    SCOPE_TCM: {DEPT_TCM},
    SCOPE_ENT: set(),
}


@dataclass(frozen=True)
class ProductTemplate:
    category: str
    names: tuple[str, ...]
    brands: tuple[str, ...]
    registrants: tuple[str, ...]
    reg_format: str  # format with {year} and {serial}


PRODUCT_TEMPLATES: tuple[ProductTemplate, ...] = (
    ProductTemplate("透明质酸钠填充剂",
                    ("交联透明质酸钠凝胶", "含利多卡因交联透明质酸钠凝胶",
                     "注射用修饰透明质酸钠凝胶", "复合透明质酸钠溶液"),
                    ("润颜", "晶透", "柔缇", "玻丽雅", "瑞盈", "海澜"),
                    ("华润生物科技股份有限公司", "蓝湾医疗器械有限公司", "澜峰生物制药有限公司"),
                    "国械注准{year}313{serial:04d}"),
    ProductTemplate("A型肉毒毒素",
                    ("注射用A型肉毒毒素",),
                    ("衡颜", "玉肌", "柔肤素", "舒颜"),
                    ("兰岭生物制品研究所有限责任公司", "东岳生物制药有限公司"),
                    "国药准字S{year}{serial:04d}"),
    ProductTemplate("乳房植入体",
                    ("硅凝胶填充乳房植入体", "毛面硅凝胶乳房植入体"),
                    ("雅蔓", "丽芙", "曼姿"),
                    ("曼姿医疗器械(上海)有限公司", "丽芙医疗科技有限公司"),
                    "国械注进{year}313{serial:04d}"),
    ProductTemplate("射频治疗仪",
                    ("单极射频治疗仪", "射频皮肤治疗仪"),
                    ("热塑", "紧致光"),
                    ("热塑医疗科技有限公司", "光谷美容设备有限公司"),
                    "国械注进{year}309{serial:04d}"),
    ProductTemplate("强脉冲光治疗仪",
                    ("强脉冲光治疗仪",),
                    ("光焕", "明澈"),
                    ("光焕医疗设备有限公司",),
                    "国械注进{year}309{serial:04d}"),
    ProductTemplate("超声治疗仪",
                    ("聚焦超声治疗仪", "超声皮肤治疗仪"),
                    ("声波", "提拉宝"),
                    ("声波医疗科技股份有限公司",),
                    "国械注准{year}309{serial:04d}"),
    ProductTemplate("激光治疗仪",
                    ("皮秒激光治疗仪", "Q开关激光治疗仪"),
                    ("皮秒星", "净肤光"),
                    ("净肤光电科技有限公司", "星光医疗器械有限公司"),
                    "国械注进{year}309{serial:04d}"),
    ProductTemplate("其他",
                    ("膨体聚四氟乙烯鼻假体", "硅橡胶鼻假体"),
                    ("塑形", "立挺"),
                    ("立挺生物材料有限公司", "塑形医疗器械有限公司"),
                    "国械注准{year}313{serial:04d}"),
)

# Device serial prefixes per energy procedure.
DEVICE_SERIAL_PREFIX = {"P08": "RF", "P09": "IPL", "P10": "HIFU", "P11": "PSL"}

# Chinese New Year (Spring Festival) dates: the season peaks around them.
SPRING_FESTIVAL = {
    2018: (2, 16), 2019: (2, 5), 2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22),
    2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13),
    2030: (2, 3), 2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8),
}

# First octets of IPv4 blocks allocated to Chinese ISPs (for realistic-looking addresses).
IP_FIRST_OCTETS = (36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116,
                   117, 118, 119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 218,
                   219, 220, 221, 222, 223)

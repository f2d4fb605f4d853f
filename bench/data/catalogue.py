"""A city's item catalogue at DESIGN §12 scale (~2,500 published items, ~60 departments, ~20,000 material
requirements), with names as a real 长春市 catalogue words them, so that Chinese substring search has
realistic selectivity: 营业执照 is in a large share of items (as a material), 食品/医保/公积金/婚姻 in a few
per cent, 养犬 or 古树名木 in a handful, and district bureaus implement the same items as the city under
their own 实施编码 (same 基本编码).

Written through the models, with bulk_create: each version is created as a draft, its materials added,
then `items.services.build_search_text` (what `item_publish` stores) computed from the rows as stored,
and only then is it marked published and made the item's current version. A quarter of the items carry an
older, superseded version and one in twenty an open draft, as a catalogue in use does.

Used by the catalogue case and by every later case that needs items (`ctx.once("catalogue", …)`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from stdnum.cn import uscc

CITY = "长春市"
REGION = "220100"
DISTRICTS = [("NG", "南关区"), ("KC", "宽城区"), ("CY", "朝阳区"), ("ED", "二道区"), ("LY", "绿园区"), ("SY", "双阳区")]
LICENSE_VARIANTS = ["新办", "变更", "延续", "注销", "补证"]

# kind code: (bureau name, audience, themes, laws, subjects, kind-specific materials)
# A subject "名称|甲,乙" yields 名称（甲）and 名称（乙）; "名称*" yields the licence variants 新办/变更/延续/注销/补证.
# A material "词>材料" is only listed for items whose name contains 词.
KINDS: dict[str, tuple] = {
    "SJ": ("市场监督管理局", ["2"], ["market_access", "business_startup"],
           "《中华人民共和国市场主体登记管理条例》《中华人民共和国食品安全法》", [
               "食品经营许可|新办（食品销售）,新办（餐饮服务）,新办（单位食堂）,变更,延续,注销,补证", "食品生产许可*", "食品小作坊登记*", "小餐饮经营许可*", "食品摊贩登记|新办,变更,注销",
               "保健食品广告审查", "特殊医学用途配方食品广告审查", "食品安全企业标准备案",
               "企业设立登记|有限责任公司,股份有限公司,个人独资企业,合伙企业,外商投资企业",
               "营业执照变更登记|名称,住所,经营范围,法定代表人,注册资本", "营业执照补领|遗失,损毁",
               "企业注销登记|一般程序,简易程序", "个体工商户登记|设立,变更,注销", "农民专业合作社登记|设立,变更,注销",
               "特种设备使用登记*", "特种设备安装改造维修告知", "计量器具型式批准", "计量标准器具核准*",
               "工业产品生产许可*", "检验检测机构资质认定*", "股权出质登记|设立,变更,注销", "动产抵押登记|设立,变更,注销",
               "企业年度报告公示", "商标专用权质押登记", "药品零售企业经营许可*", "第二类医疗器械经营备案",
               "化妆品经营备案", "广告发布登记*",
               "仅销售预包装食品备案|新办,变更,注销", "网络餐饮服务第三方平台备案", "特种设备作业人员资格认定|新办,复审",
               "商品条码注册|新办,续展", "企业名称自主申报", "企业迁移登记|迁入,迁出", "分支机构设立登记|分公司,非法人分支机构",
               "个体工商户转型为企业", "市场主体歇业备案", "医疗器械网络销售备案",
           ], ["经营场所使用证明", "食品>食品安全管理制度", "食品>食品安全管理人员健康证明", "主要设备设施布局图", "企业>企业章程",
               "企业>股东会决议", "登记>名称自主申报告知书", "住所（经营场所）登记表", "特种设备>特种设备安装质量证明", "营业执照正副本原件"]),
    "RS": ("人力资源和社会保障局", ["1", "2"], ["employment", "social_security"],
           "《中华人民共和国社会保险法》《中华人民共和国就业促进法》", [
               "失业保险金申领", "稳岗返还", "就业创业证申领", "创业担保贷款申请", "职业技能培训补贴申领",
               "社会保障卡申领|首次,补领,换领", "养老保险关系转移接续", "基本养老保险参保登记|企业职工,城乡居民,灵活就业人员",
               "养老金领取资格认证", "退休审批|正常退休,特殊工种提前退休,因病提前退休", "工伤认定申请",
               "劳动能力鉴定|初次,复查", "工伤医疗费报销", "劳动人事争议仲裁申请", "人力资源服务许可*",
               "劳务派遣经营许可*", "职称评审申报|初级,中级,高级", "高校毕业生就业报到",
               "流动人员人事档案|接收,转出", "企业年金方案备案", "城乡居民养老保险待遇申领", "丧葬补助金和抚恤金申领",
               "灵活就业社会保险补贴申领",
               "失业补助金申领", "一次性创业补贴申领", "社会保险登记|单位,个人,变更,注销", "社会保险费补缴",
               "工伤保险待遇|一次性伤残补助金,伤残津贴,供养亲属抚恤金", "职业技能等级认定", "就业困难人员认定",
               "公益性岗位补贴申领", "求职创业补贴申领", "技能提升补贴申领", "社会保险个人权益记录查询", "养老保险待遇变更",
           ], ["社会保障卡", "劳动合同", "解除劳动合同证明", "失业登记证明", "职业资格证书", "退休审批表",
               "工伤事故调查报告", "医疗诊断证明", "个人参保缴费明细", "银行账户信息"]),
    "GJJ": ("住房公积金管理中心", ["1"], ["housing_fund"],
            "《住房公积金管理条例》", [
                "住房公积金缴存登记|单位,个人",
                "住房公积金提取|购买自住住房,偿还购房贷款本息,租赁住房,离休退休,出境定居,完全丧失劳动能力,死亡或宣告死亡,大病医疗,老旧小区改造",
                "住房公积金个人住房贷款|新建商品住房,二手住房,组合贷款,异地贷款", "住房公积金贷款提前还款|部分,全部",
                "住房公积金异地转移接续", "住房公积金缴存基数调整", "住房公积金缓缴申请", "住房公积金单位信息变更",
                "住房公积金账户封存|单位,个人", "住房公积金账户启封", "住房公积金缴存证明出具", "住房公积金贷款证明出具",
                "灵活就业人员住房公积金缴存", "住房公积金贷款担保变更",
            ], ["购>购房合同", "购>购房发票", "不动产权证书", "贷款>借款合同", "本人银行卡", "婚姻状况证明", "租赁>房屋租赁合同",
                "住房公积金缴存证明", "退休>离退休证明", "单位>单位缴存登记表"]),
    "YB": ("医疗保障局", ["1"], ["medical_insurance"],
           "《医疗保障基金使用监督管理条例》《中华人民共和国社会保险法》", [
               "医保参保登记|职工,城乡居民,新生儿,灵活就业人员", "医保关系转移接续",
               "医保异地就医备案|长期居住,常驻工作,转诊就医,临时外出", "门诊慢特病待遇认定",
               "医疗费用手工报销|住院,门诊,异地就医", "生育保险待遇核准|生育医疗费用,生育津贴", "医保定点医疗机构申请",
               "医保定点零售药店申请", "医保个人账户家庭共济绑定", "城乡居民医保缴费", "医保电子凭证激活",
               "大病保险待遇申领", "医疗救助申请", "长期护理保险待遇申请", "医保缴费证明打印", "医保信息变更",
               "医保定点医疗机构协议变更", "医保待遇资格认定|退休人员,离休人员", "异地就医费用结算查询",
               "医保个人账户余额查询", "医保卡挂失解挂|挂失,解挂", "医保待遇暂停恢复|暂停,恢复", "门诊统筹待遇备案",
               "双通道药品备案", "生育津贴领取", "医保缴费年限认定",
           ], ["医保电子凭证", "医疗费用票据", "费用明细清单", "出院小结", "转诊转院证明", "异地居住证明",
               "诊断证明书", "医保参保凭证", "生育>生育医学证明", "病历资料"]),
    "MZ": ("民政局", ["1"], ["social_assistance"],
           "《婚姻登记条例》《社会救助暂行办法》", [
               "结婚登记|内地居民,涉外,涉港澳台", "离婚登记", "补领婚姻登记证|结婚证,离婚证", "撤销婚姻登记",
               "婚姻登记档案查询", "收养登记|收养,解除收养", "最低生活保障审批|城市,农村", "特困人员救助供养",
               "临时救助申请", "困难残疾人生活补贴", "重度残疾人护理补贴", "高龄津贴申领", "社会团体登记|成立,变更,注销",
               "民办非企业单位登记|成立,变更,注销", "基金会登记", "养老机构备案", "殡葬服务|遗体火化,骨灰存放",
               "地名命名更名审批", "慈善组织认定", "经济困难老年人补贴",
               "居家养老服务补贴", "老年人优待证办理", "孤儿基本生活费申领", "事实无人抚养儿童认定", "低收入家庭认定",
               "流浪乞讨人员救助", "社会组织年度检查|社会团体,民办非企业单位", "养老服务机构运营补贴", "殡葬补贴申领",
               "公墓建设审批", "婚姻登记预约", "村（居）民委员会换届备案",
           ], ["婚>近期半身免冠合影照片", "婚>婚姻状况声明", "离婚>离婚协议书", "婚>结婚证", "离婚>离婚证", "家庭收入证明",
               "家庭财产申报表", "残疾>残疾人证", "登记>章程草案", "基金会>验资报告"]),
    "GA": ("公安局", ["1"], ["household"],
           "《中华人民共和国居民身份证法》《中华人民共和国户口登记条例》", [
               "户口迁移|市内,省内,跨省", "出生登记", "死亡注销户口", "居民身份证申领|首次,换领,补领,临时身份证",
               "居住证申领", "户籍证明开具", "姓名变更登记", "养犬登记|新办,延续,变更", "犬只免疫证明查验",
               "机动车登记|注册,转移,变更,抵押,注销", "机动车驾驶证|补领,换领,审验", "无犯罪记录证明开具",
               "出入境证件申领|普通护照,往来港澳通行证,往来台湾通行证", "公章刻制备案", "旅馆业特种行业许可*",
               "保安服务许可*", "大型群众性活动安全许可", "爆破作业单位许可*", "烟花爆竹道路运输许可",
           ], ["出生>出生医学证明", "迁>准予迁入证明", "死亡>死亡医学证明", "居住证明", "犬>犬只免疫证明", "机动车>机动车来历证明",
               "机动车>机动车交通事故责任强制保险凭证", "近期免冠证件照片", "公章>刻制印章申请表", "许可>安全防范措施说明"]),
    "WJ": ("卫生健康委员会", ["1", "2"], ["health"],
           "《医疗机构管理条例》《中华人民共和国母婴保健法》", [
               "出生医学证明|首次签发,补发,换发", "医疗机构执业登记*", "医师执业注册|首次,变更,注销",
               "护士执业注册|首次,延续,变更", "母婴保健技术服务许可*", "公共场所卫生许可*", "饮用水供水单位卫生许可*",
               "放射诊疗许可*", "计划生育家庭奖励扶助", "独生子女父母光荣证", "预防接种证补办", "职业病诊断",
               "诊所备案", "中医诊所备案", "婚前医学检查", "严重精神障碍患者救治补助",
               "医疗机构设置审批", "执业医师多机构备案", "乡村医生执业注册|首次,再注册", "医疗广告审查",
               "消毒产品生产企业卫生许可*", "托育机构备案", "健康证明办理|从业人员,入学入托", "生育登记服务",
               "疫苗接种异常反应补偿",
           ], ["医疗机构执业许可证", "医师资格证书", "护士执业证书", "健康检查合格证明", "卫生管理制度",
               "水>水质检验报告", "放射>放射防护评价报告", "出生>住院分娩证明", "接种>预防接种记录", "体检报告"]),
    "ZR": ("自然资源局", ["2"], ["construction"],
           "《中华人民共和国土地管理法》《中华人民共和国城乡规划法》", [
               "建设项目用地预审与选址意见书", "建设用地规划许可*", "建设工程规划许可*", "乡村建设规划许可",
               "国有建设用地使用权出让", "临时用地审批", "测绘资质审批*", "地质灾害危险性评估备案",
               "采矿权登记|新立,延续,变更,注销", "探矿权登记|新立,延续,变更,注销", "规划条件核实",
               "国有建设用地使用权划拨",
           ], ["建设项目批准文件", "建设工程设计方案", "用地红线图", "土地出让合同", "规划条件",
               "地形图", "矿产资源开发利用方案", "测绘成果"]),
    "ZJ": ("住房和城乡建设局", ["1", "2"], ["construction", "real_estate"],
           "《中华人民共和国建筑法》《城市房地产开发经营管理条例》", [
               "建筑工程施工许可*", "商品房预售许可*", "建筑业企业资质|新办,升级,增项,延续", "房地产开发企业资质*",
               "物业服务合同备案", "房屋租赁登记备案", "公共租赁住房申请", "住房保障资格认定", "既有住宅加装电梯",
               "城镇燃气经营许可*", "建设工程竣工验收备案", "建设工程消防设计审查", "建设工程消防验收",
               "施工图审查", "存量房交易资金监管", "商品房买卖合同网签备案",
               "房屋交易合同备案|商品房,存量房", "房地产经纪机构备案", "物业企业备案", "住房租赁企业备案",
               "人防工程建设审批", "建筑起重机械使用登记", "房屋安全鉴定", "老旧小区改造申请", "商品房现售备案",
               "城市供热经营许可*",
           ], ["建设工程规划许可证", "施工合同", "中标通知书", "施工图审查合格书", "安全生产许可证",
               "房屋租赁合同", "家庭住房情况证明", "消防设计文件", "竣工验收报告"]),
    "JT": ("交通运输局", ["2"], ["transport"],
           "《中华人民共和国道路运输条例》", [
               "道路旅客运输经营许可*", "道路货物运输经营许可*", "出租汽车经营许可*", "网络预约出租汽车运输证*",
               "机动车维修经营备案", "机动车驾驶员培训备案", "道路运输从业人员资格|考试,换证,补证",
               "超限运输车辆行驶公路许可", "公路建设项目施工许可", "港口经营许可*", "城市公交线路经营许可",
           ], ["机动车行驶证", "机动车驾驶证", "车辆技术等级评定", "安全生产管理制度", "停车场地证明",
               "从业人员资格证", "车辆保险单"]),
    "JY": ("教育局", ["1"], ["birth"],
           "《中华人民共和国教育法》《中华人民共和国义务教育法》", [
               "义务教育入学|小学,初中", "转学申请|转入,转出", "民办学校设立|幼儿园,中小学,培训机构",
               "教师资格认定|幼儿园,小学,初级中学,高级中学", "学生资助申请|学前教育,普通高中,中职",
               "学历证明书补办", "中小学生学籍变更",
           ], ["学籍信息表", "教师资格考试合格证明", "普通话水平测试等级证书", "学历证书", "家庭经济困难证明",
               "办学场所证明", "办学章程"]),
    "WL": ("文化广电和旅游局", ["2"], ["market_access"],
           "《营业性演出管理条例》《娱乐场所管理条例》", [
               "营业性演出许可*", "娱乐场所经营许可*", "互联网上网服务营业场所许可*", "旅行社设立许可", "导游证申领",
               "文物保护单位修缮审批", "出版物零售业务许可*", "广播电视节目制作经营许可*", "艺术考级活动审批",
               "非物质文化遗产代表性传承人认定",
           ], ["演出节目内容说明", "场所消防安全检查合格证明", "质量保证金存缴证明", "文物修缮方案", "从业人员名单"]),
    "HB": ("生态环境局", ["2"], ["construction"],
           "《中华人民共和国环境影响评价法》《排污许可管理条例》", [
               "建设项目环境影响报告书审批", "建设项目环境影响报告表审批", "排污许可*", "危险废物经营许可*",
               "辐射安全许可*", "环境影响登记表备案", "建设项目竣工环境保护验收备案",
           ], ["环境影响报告书", "环境影响报告表", "排污许可申请表", "污染防治设施说明", "辐射安全管理制度"]),
    "NY": ("农业农村局", ["1", "2"], ["market_access"],
           "《农药管理条例》《中华人民共和国种子法》", [
               "农药经营许可*", "兽药经营许可*", "种子生产经营许可*", "动物防疫条件合格证核发*", "渔业捕捞许可*",
               "农机购置补贴申领", "耕地地力保护补贴", "拖拉机和联合收割机登记|注册,转移,注销", "生鲜乳收购许可*",
               "农村宅基地审批",
           ], ["经营场所平面图", "仓储设施清单", "专业技术人员资格证明", "农机购置发票", "承包土地证明"]),
    "SWU": ("水务局", ["2"], ["construction"],
            "《中华人民共和国水法》《城镇排水与污水处理条例》", [
                "取水许可*", "河道管理范围内建设项目审批", "城市排水许可*", "水土保持方案审批",
                "生产建设项目占用农业灌溉水源审批", "供水设施改装审批",
            ], ["水资源论证报告", "防洪评价报告", "排水设施竣工报告", "水土保持方案报告书"]),
    "CG": ("城市管理局", ["1", "2"], [],
           "《城市市容和环境卫生管理条例》", [
               "城市建筑垃圾处置核准", "户外广告设施设置审批", "临时占用城市道路审批", "挖掘城市道路审批",
               "占用城市绿地审批", "砍伐城市树木审批", "临街门店招牌设置备案", "餐厨垃圾收运登记",
           ], ["设置位置示意图", "效果图", "道路占用施工方案", "绿化补偿方案", "运输车辆清单"]),
    "YJ": ("应急管理局", ["2"], [],
           "《危险化学品安全管理条例》《安全生产许可证条例》", [
               "危险化学品经营许可*", "烟花爆竹经营许可*", "非煤矿山安全生产许可*", "生产安全事故应急预案备案",
               "安全评价机构资质*", "特种作业操作证|申领,复审,换证",
           ], ["安全评价报告", "安全管理制度", "应急预案", "主要负责人安全培训合格证明", "储存设施说明"]),
    "SW": ("商务局", ["2"], ["business_startup"],
           "《中华人民共和国对外贸易法》", [
               "对外贸易经营者备案", "单用途商业预付卡备案", "拍卖企业设立审批", "成品油零售经营许可*",
               "报废机动车回收拆解企业资质认定", "酒类流通备案", "外商投资企业设立备案",
           ], ["对外贸易经营者备案登记表", "预付卡章程", "拍卖师资格证书", "油库证明", "投资者主体资格证明"]),
    "TY": ("退役军人事务局", ["1"], ["social_assistance"],
           "《退役军人保障法》《军人抚恤优待条例》", [
               "退役士兵安置|自主就业,安排工作", "优抚对象抚恤补助", "烈士褒扬金申领", "退役军人光荣牌悬挂",
               "军人家属优待金申领", "伤残等级评定", "退役军人优待证申领",
           ], ["退役证", "入伍批准书", "伤残证明", "烈士证明书", "军人家属证明"]),
    "SF": ("司法局", ["1", "2"], [],
           "《中华人民共和国法律援助法》《中华人民共和国公证法》", [
               "法律援助申请", "公证|出生,婚姻状况,学历,无犯罪记录,亲属关系,委托", "律师执业许可*",
               "基层法律服务工作者执业核准", "人民调解申请", "司法鉴定许可*",
           ], ["经济困难状况说明表", "案件材料", "亲属关系证明", "学历证书", "律师资格证书"]),
    "BDC": ("不动产登记中心", ["1", "2"], ["real_estate"],
            "《不动产登记暂行条例》", [
                "不动产首次登记|国有建设用地使用权,房屋所有权", "不动产转移登记|买卖,赠与,继承,离婚析产",
                "不动产变更登记", "不动产抵押登记|设立,变更,注销", "不动产预告登记", "不动产注销登记",
                "不动产更正登记", "不动产查封登记", "不动产登记资料查询|权利人,利害关系人", "不动产权证书补发|遗失,损坏",
            ], ["不动产权证书", "转移>不动产买卖合同", "完税凭证", "抵押>抵押合同", "抵押>主债权合同", "继承>继承公证书",
                "离婚>离婚协议书", "宗地图", "房屋测绘报告"]),
    "LY": ("林业和草原局", ["1", "2"], [],
           "《中华人民共和国森林法》《古树名木保护条例》", [
               "林木采伐许可", "古树名木迁移审批", "野生动物人工繁育许可*", "使用林地审核",
               "林草种子生产经营许可*", "森林防火期野外用火审批",
           ], ["林木权属证明", "采伐作业设计", "迁移保护方案", "繁育场所证明", "使用林地可行性报告"]),
    "CL": ("残疾人联合会", ["1"], ["social_assistance"],
           "《中华人民共和国残疾人保障法》", [
               "残疾人证|新办,换领,迁移,注销", "残疾人就业补贴", "残疾儿童康复救助", "残疾人辅助器具适配补贴",
               "无障碍改造补贴",
           ], ["残疾评定表", "残疾人证", "康复评估报告", "辅助器具适配评估表", "改造方案"]),
    "SWJ": ("税务局", ["1", "2"], ["tax"],
            "《中华人民共和国税收征收管理法》", [
                "税务登记|设立,变更,注销", "发票领用", "增值税一般纳税人登记", "个人所得税专项附加扣除",
                "纳税证明开具", "车辆购置税申报", "房产税申报", "契税申报", "社保费缴纳|企业职工,城乡居民,灵活就业人员",
                "出口退税备案", "跨区域涉税事项报告", "税收优惠备案",
            ], ["税务登记表", "财务会计制度", "银行开户证明", "购车发票", "房屋权属转移合同", "扣除信息表"]),
}
CITY_ONLY_NAME = {"GA": "公安局", "SWJ": "国家税务总局长春市税务局"}
DISTRICT_KINDS = ["SJ", "RS", "MZ", "WJ", "YB", "ZJ"]  # district bureaus implementing the city's items

CERTIFICATE_TYPES = [
    # (code, name, issuing kind, validity_years)
    ("BIZ-LICENSE", "营业执照", "SJ", None),
    ("FOOD-BIZ", "食品经营许可证", "SJ", 5),
    ("FOOD-PROD", "食品生产许可证", "SJ", 5),
    ("DRUG-RETAIL", "药品经营许可证", "SJ", 5),
    ("ID-CARD", "居民身份证", "GA", 20),
    ("HUKOU", "居民户口簿", "GA", None),
    ("DOG", "养犬登记证", "GA", 1),
    ("DRIVING", "机动车驾驶证", "GA", 6),
    ("MARRIAGE", "结婚证", "MZ", None),
    ("DIVORCE", "离婚证", "MZ", None),
    ("DISABILITY", "残疾人证", "CL", 10),
    ("PROPERTY", "不动产权证书", "BDC", None),
    ("SS-CARD", "社会保障卡", "RS", 10),
    ("BIRTH-CERT", "出生医学证明", "WJ", None),
    ("MED-INST", "医疗机构执业许可证", "WJ", 5),
    ("PHYSICIAN", "医师执业证书", "WJ", None),
    ("NURSE", "护士执业证书", "WJ", 5),
    ("PUBLIC-HYGIENE", "公共场所卫生许可证", "WJ", 4),
    ("CONSTRUCTION", "建筑工程施工许可证", "ZJ", None),
    ("PLANNING", "建设工程规划许可证", "ZR", None),
    ("ROAD-TRANSPORT", "道路运输经营许可证", "JT", 4),
    ("DISCHARGE", "排污许可证", "HB", 5),
    ("TEACHER", "教师资格证书", "JY", None),
    ("LAWYER", "律师执业证", "SF", None),
    ("RETIRED-SOLDIER", "退役军人优待证", "TY", None),
]
# A material of one of these names is satisfied by holding a valid e-certificate of that type (免交).
SATISFIED_BY = {name: code for code, name, _, _ in CERTIFICATE_TYPES}
SATISFIED_BY |= {"营业执照正副本原件": "BIZ-LICENSE", "居民身份证": "ID-CARD", "户口簿": "HUKOU"}

PERSON_MATERIALS = ["居民身份证", "户口簿", "授权委托书", "受托人身份证明"]
ENTERPRISE_MATERIALS = ["营业执照", "法定代表人身份证明", "授权委托书", "经办人身份证明"]
VARIANT_MATERIALS = {"变更": "变更事项证明材料", "注销": "注销申请书", "补证": "遗失声明", "延续": "原许可证件",
                     "补领": "遗失声明", "换领": "原证件", "补发": "遗失声明"}
NOTES = ["", "", "", "需加盖单位公章", "复印件须注明“与原件一致”并签名", "原件核验后退回", "须在有效期内",
         "可通过电子证照库调取，无需提交", "委托他人办理时提供"]
CONDITIONS = [
    "申请人应当具备与所申请事项相适应的条件，提交的材料真实、完整、有效，符合法定形式。",
    "符合国家和省、市有关规定；申请材料齐全、符合法定形式；申请人对材料的真实性负责。",
    "申请人为本市户籍居民或持有本市居住证的人员，且符合相关政策规定的条件。",
    "申请单位依法成立，具有与经营项目相适应的场所、设备设施、管理制度和专业技术人员。",
]
FAQ = [
    "问：可以委托他人办理吗？答：可以，受托人须持授权委托书和本人身份证件。",
    "问：网上申请后还需要到现场吗？答：材料齐全且核验通过的，可选择邮寄送达，无需到现场。",
    "问：办理进度在哪里查询？答：可登录一网通办平台“我的办件”或拨打咨询电话查询。",
]
PROCEDURES = [["受理", "审查", "决定", "制证", "送达"], ["受理", "审核", "办结"], ["申请", "受理", "现场核查", "审查", "决定", "送达"]]


@dataclass
class Catalogue:
    """What was built, and sample values a benchmark can search for."""

    departments: int = 0
    items: int = 0
    versions: int = 0
    materials: int = 0
    current_materials: int = 0
    item_codes: list[str] = field(default_factory=list)
    basic_codes: list[str] = field(default_factory=list)
    credit_codes: list[str] = field(default_factory=list)
    version_ids: list[int] = field(default_factory=list)  # current versions, for cases that open applications


def _credit_code(number: int) -> str:
    body = f"11{REGION}MB{number:07d}"
    return body + uscc.calc_check_digit(body)


def _expand(subject: str) -> list[tuple[str, str]]:
    """(base name, variant) pairs of one subject line."""
    if subject.endswith("*"):
        return [(subject[:-1], variant) for variant in LICENSE_VARIANTS]
    if "|" in subject:
        base, variants = subject.split("|")
        return [(base, variant) for variant in variants.split(",")]
    return [(subject, "")]


def _departments(count: int) -> list[dict]:
    """City bureaus first, then district bureaus, interleaved so a small scale still mixes kinds."""
    city = [{"kind": kind, "code": f"CC{kind}", "district": "", "level": "3",
             "name": CITY_ONLY_NAME.get(kind, "长春市" + KINDS[kind][0])} for kind in KINDS]
    districts = [{"kind": kind, "code": f"CC{code}{kind}", "district": district, "level": "4",
                  "name": f"{CITY}{district}{KINDS[kind][0].replace('委员会', '局')}"}
                 for kind in DISTRICT_KINDS for code, district in DISTRICTS]
    ordered = []
    for index in range(max(len(city), len(districts))):
        ordered += [group[index] for group in (city, districts) if index < len(group)]
    return ordered[:count]


def _item_type(name: str) -> str:
    if any(word in name for word in ("许可", "审批", "核准", "资质", "认定")):
        return "01"
    if any(word in name for word in ("补贴", "津贴", "救助", "待遇", "抚恤", "褒扬金", "优待金", "申领", "报销")):
        return "05"
    if "登记" in name or "备案" in name:
        return "07"
    return "20"


def _themes(kind: str, name: str, default: list[str]) -> list[str]:
    themes = list(default)
    for word, theme in (("食品", "food_safety"), ("婚", "marriage"), ("出生", "birth"), ("生育", "birth"),
                        ("养老", "elderly"), ("老年", "elderly"), ("出入境", "exit_entry"), ("机动车", "transport"),
                        ("社会团体", "social_organization"), ("民办非企业", "social_organization"),
                        ("不动产", "real_estate"), ("医保", "medical_insurance"), ("社保", "social_security")):
        if word in name and theme not in themes:
            themes.append(theme)
    return themes


def _result_name(base: str, certificate_names: dict[str, str]) -> str:
    for code, name in certificate_names.items():
        if base.startswith(name.removesuffix("证").removesuffix("证书")) and name.endswith(("证", "证书", "执照")):
            return name
    if "许可" in base:
        return base.split("许可")[0] + "许可证"
    if "证明" in base or "查询" in base:
        return base.removesuffix("开具").removesuffix("出具") if "证明" in base else "查询结果"
    return "办理结果通知书"


def build_catalogue(*, scale: float = 1.0, log=print) -> Catalogue:
    """Create departments, certificate types, items, versions and materials; returns what it made."""
    from django.db import transaction

    from bench.lib import analyze
    from certificates.models import CertificateType
    from items.models import Item, ItemVersion, MaterialRequirement, VersionStatus
    from items.services import build_search_text
    from portal.models import Department

    rng = random.Random(20260101)
    target_items = max(10, round(2500 * scale))
    department_specs = _departments(max(3, round(60 * scale)))
    kind_numbers = {kind: number for number, kind in enumerate(KINDS, start=1)}
    built = Catalogue()

    with transaction.atomic():
        departments = Department.objects.bulk_create(
            Department(code=spec["code"], name=spec["name"], credit_code=_credit_code(number), level=spec["level"],
                       hotline=f"0431-8{rng.randrange(1000000, 9999999)}")
            for number, spec in enumerate(department_specs, start=1)
        )
        by_code = {department.code: department for department in departments}
        for spec in department_specs:
            spec["department"] = by_code[spec["code"]]
        city_by_kind = {spec["kind"]: spec["department"] for spec in department_specs if not spec["district"]}
        fallback = departments[0]
        certificate_types = CertificateType.objects.bulk_create(
            CertificateType(code=code, name=name, department=city_by_kind.get(kind, fallback), validity_years=years,
                            face_fields=["持证人", "证件号码", "有效期"])
            for code, name, kind, years in CERTIFICATE_TYPES
        )
        certificate_by_code = {certificate_type.code: certificate_type for certificate_type in certificate_types}
        certificate_by_name = {certificate_type.name: certificate_type for certificate_type in certificate_types}
        certificate_names = {certificate_type.code: certificate_type.name for certificate_type in certificate_types}

        # Every (department, subject, variant) a department could implement; sample the catalogue from them.
        candidates = []
        for spec in department_specs:
            subjects = KINDS[spec["kind"]][4]
            for subject_number, subject in enumerate(subjects, start=1):
                for variant_number, (base, variant) in enumerate(_expand(subject), start=1):
                    basic_code = f"{kind_numbers[spec['kind']]:03d}{subject_number:03d}{variant_number:02d}00"
                    candidates.append((spec, base, variant, basic_code))
        rng.shuffle(candidates)
        if len(candidates) < target_items:
            raise RuntimeError(f"word lists yield {len(candidates)} items, fewer than {target_items}")
        chosen = sorted(candidates[:target_items], key=lambda candidate: (candidate[0]["code"], candidate[3]))

        items = Item.objects.bulk_create(
            (Item(code=spec["department"].credit_code + "4" + basic_code + "00", basic_code=basic_code,
                  department=spec["department"]) for spec, _, _, basic_code in chosen),
            batch_size=1000,
        )
        specs = [(item, spec, base, variant) for item, (spec, base, variant, _) in zip(items, chosen)]
        built.departments = len(departments)
        built.items = len(items)
        built.item_codes = [item.code for item in items]
        built.basic_codes = sorted({item.basic_code for item in items})
        built.credit_codes = [department.credit_code for department in departments]

        # Versions per item: a quarter have an older, superseded one; one in twenty has an open draft.
        history = {item.pk: 2 if rng.random() < 0.25 else 1 for item, *_ in specs}
        open_draft = {item.pk for item, *_ in specs if rng.random() < 0.05}
        tz = ZoneInfo("Asia/Shanghai")
        current_versions: dict[int, ItemVersion] = {}
        for number in (1, 2):
            round_specs = [entry for entry in specs if history[entry[0].pk] >= number]
            versions = _create_versions(round_specs, number=number, rng=rng, certificate_by_name=certificate_by_name,
                                        certificate_names=certificate_names, certificate_by_code=certificate_by_code,
                                        departments=departments)
            # What item_publish stores, computed by its own function from the rows as stored.
            stored = (ItemVersion.objects.filter(pk__in=[version.pk for version in versions])
                      .select_related("item", "department", "certificate_type").prefetch_related("materials"))
            published = []
            for version in stored:
                is_last = history[version.item_id] == number
                when = datetime(2024, 1, 2, 9, 30, tzinfo=tz) + timedelta(
                    days=rng.randrange(0, 330) + (0 if number == 1 else 400), minutes=rng.randrange(0, 480))
                version.search_text = build_search_text(version)
                version.status = VersionStatus.PUBLISHED
                version.number = number
                version.published_at = when
                version.valid_from = when.astimezone(tz).date()
                version.change_note = "目录导入" if number == 1 else "调整申请材料"
                published.append(version)
                if is_last:
                    current_versions[version.item_id] = version
            # Still drafts in the database, so the frozen-version guard lets this through, as publish does.
            ItemVersion.objects.bulk_update(
                published, ["search_text", "status", "number", "published_at", "valid_from", "change_note"],
                batch_size=500,
            )
            built.versions += len(published)
        for item in items:
            version = current_versions[item.pk]
            item.current_version = version
            item.department_id = version.department_id
        Item.objects.bulk_update(items, ["current_version", "department"], batch_size=1000)
        built.version_ids = sorted(version.pk for version in current_versions.values())
        drafts = _create_versions([entry for entry in specs if entry[0].pk in open_draft], number=3, rng=rng,
                                  certificate_by_name=certificate_by_name, certificate_names=certificate_names,
                                  certificate_by_code=certificate_by_code, departments=departments)
        built.versions += len(drafts)
        built.materials = MaterialRequirement.objects.count()
        built.current_materials = MaterialRequirement.objects.filter(version__current_for__isnull=False).count()
    analyze(Department, CertificateType, Item, ItemVersion, MaterialRequirement, ItemVersion.joint_departments.through)
    log(f"catalogue: {built.departments} departments, {built.items} items, {built.versions} versions, "
        f"{built.current_materials} current materials ({built.materials} in all versions)")
    return built


def _create_versions(specs, *, number, rng, certificate_by_name, certificate_names, certificate_by_code, departments):
    """Drafts (with materials and joint departments) for (item, spec, base, variant) entries."""
    from items.models import ItemVersion, MaterialRequirement

    versions = []
    material_lists = []
    for item, spec, base, variant in specs:
        kind = spec["kind"]
        _, audience, default_themes, laws, _, kind_materials = KINDS[kind]
        name = f"{base}（{variant}）" if variant else base
        instant = any(word in name for word in ("证明", "查询", "打印", "出具", "开具", "激活", "公示")) or rng.random() < 0.1
        statutory = 1 if instant else rng.choice([5, 10, 15, 20, 20, 30, 60])
        promised = 0 if instant else max(1, statutory * rng.choice([25, 40, 50, 100]) // 100)
        result_name = _result_name(base, certificate_names)
        certificate_type = certificate_by_name.get(result_name)
        hall = spec["district"] or "市"
        charged = rng.random() < 0.08
        versions.append(ItemVersion(
            item=item, status="draft", name=name, item_type=_item_type(name), level=spec["level"],
            department=spec["department"], audience=list(audience), themes=_themes(kind, name, default_themes),
            handling="instant" if instant else "promised", statutory_days=statutory, promised_days=promised,
            max_visits=rng.choice([0, 0, 1, 1, 1, 2]), online=rng.random() < 0.7, express=rng.random() < 0.4,
            appointment=rng.random() < 0.5, scope=rng.choice(["local", "county", "city", "city", "province", "national"]),
            onsite_inspection="许可" in name and rng.random() < 0.4, conditions=rng.choice(CONDITIONS),
            procedure=["受理", "办结"] if instant else rng.choice(PROCEDURES),
            legal_basis=laws + (f"第{rng.randrange(2, 60)}条" if rng.random() < 0.7 else ""),
            result_name=result_name, certificate_type=certificate_type,
            fee_charged=charged, fee_standard="按国家规定标准收取" if charged else "",
            location=f"{CITY}{hall}政务服务中心{rng.randrange(1, 5)}楼综合受理窗口",
            office_hours="周一至周五 上午8:30-11:30，下午13:00-17:00（法定节假日除外）",
            hotline=f"0431-8{rng.randrange(1000000, 9999999)}", supervision_phone="0431-12345",
            faq="\n".join(rng.sample(FAQ, 2)),
        ))
        # ~8 materials: the item's own form, identity papers for its audience, kind-specific papers.
        names = [f"{base}申请表"]
        names += rng.sample(ENTERPRISE_MATERIALS if "2" in audience and (len(audience) == 1 or rng.random() < 0.5)
                            else PERSON_MATERIALS, rng.choice([1, 2, 2, 3]))
        if variant in VARIANT_MATERIALS:
            names.append(VARIANT_MATERIALS[variant])
        # "词>材料" applies only to items whose name contains 词 (食品安全管理制度 only for food items).
        eligible = [entry.split(">")[-1] for entry in kind_materials if ">" not in entry or entry.split(">")[0] in name]
        names += rng.sample(eligible, min(len(eligible), rng.choice([2, 3, 4, 4, 5, 6])))
        if rng.random() < 0.3:
            names.append("信用承诺书")
        if number > 1 and rng.random() < 0.5:
            names.append("其他补充材料")
        material_lists.append(list(dict.fromkeys(names)))
    versions = ItemVersion.objects.bulk_create(versions, batch_size=500)
    materials = []
    for version, names in zip(versions, material_lists):
        for order, material_name in enumerate(names, start=1):
            satisfied_by = certificate_by_code.get(SATISFIED_BY.get(material_name, ""))
            government = satisfied_by is not None or material_name.endswith(("证明", "证书", "许可证"))
            materials.append(MaterialRequirement(
                version=version, order=order, name=material_name,
                form=rng.choice(["original", "copy", "electronic"]) if satisfied_by is None else "electronic",
                copies_original=rng.choice([0, 1, 1]), copies_copy=rng.choice([0, 0, 1, 2]),
                required=order <= 2 or rng.random() < 0.8, deferrable=order > 2 and rng.random() < 0.1,
                source="government" if government else "applicant",
                issuer=satisfied_by.department.name if satisfied_by else "", satisfied_by=satisfied_by,
                notes=rng.choice(NOTES),
            ))
    MaterialRequirement.objects.bulk_create(materials, batch_size=2000)
    # One item in ten is handled jointly (联办) with another department.
    through = ItemVersion.joint_departments.through
    joint = []
    for version in versions:
        partner = rng.choice(departments)
        if rng.random() < 0.1 and partner.pk != version.department_id:
            joint.append(through(itemversion_id=version.pk, department_id=partner.pk))
    through.objects.bulk_create(joint)
    return versions

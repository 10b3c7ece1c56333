"""Choice sets for households and members (贫困户与家庭成员), with national codes.

Values are stable English slugs (the API's enumerations), labels are the Chinese terms;
where a national standard assigns codes (GB/T 2261.1 sex, GB 3304 ethnicity), the code
is the value.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HouseholdStatus(models.TextChoices):
    """Household status (户状态); one field, one state machine."""

    APPLIED = "applied", _("申请")
    APPRAISED = "appraised", _("评议")
    IN_NOTICE = "in_notice", _("公示")
    REGISTERED = "registered", _("已识别（未脱贫）")
    REJECTED = "rejected", _("未通过")
    EXITED = "exited", _("已脱贫")
    RETURNED = "returned", _("返贫")
    REMOVED = "removed", _("清退")
    NATURAL_DECREASE = "natural_decrease", _("自然减少")


#: Statuses of a household counted as poor and not yet exited (贫困发生率的分子).
POOR_NOT_EXITED = (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED)
#: Statuses of a household whose members are in the registry (建档立卡): registered, returned or exited.
REGISTERED_EVER = (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED, HouseholdStatus.EXITED)
#: Statuses of a household that has left the registry for good (records stay).
CLOSED_STATUSES = (HouseholdStatus.REJECTED, HouseholdStatus.REMOVED, HouseholdStatus.NATURAL_DECREASE)


class IdentificationStep(models.TextChoices):
    """Position in the identification procedure (两公示一公告), finer than the status."""

    APPLICATION = "application", _("农户申请")
    APPRAISED = "appraised", _("民主评议通过")
    VILLAGE_NOTICE = "village_notice", _("村级公示")
    TOWNSHIP_REVIEW = "township_review", _("乡镇审核")
    TOWNSHIP_NOTICE = "township_notice", _("乡镇公示")
    COUNTY_APPROVAL = "county_approval", _("县级审批")
    ANNOUNCED = "announced", _("县级公告（已识别）")
    REJECTED = "rejected", _("未通过")


class IdentificationStandard(models.TextChoices):
    NATIONAL = "national", _("国家标准")
    PROVINCIAL = "provincial", _("省定标准")
    MUNICIPAL = "municipal", _("市定标准")


class Attribute(models.TextChoices):
    """Poverty attribute (贫困户属性)."""

    GENERAL = "general", _("一般贫困户")
    DIBAO = "dibao", _("低保贫困户")
    TEKUN = "tekun", _("特困供养贫困户")


class Cause(models.TextChoices):
    """Cause of poverty (致贫原因)."""

    ILLNESS = "illness", _("因病")
    DISABILITY = "disability", _("因残")
    EDUCATION = "education", _("因学")
    DISASTER = "disaster", _("因灾")
    LACK_LAND = "lack_land", _("缺土地")
    LACK_WATER = "lack_water", _("缺水")
    LACK_SKILLS = "lack_skills", _("缺技术")
    LACK_LABOUR = "lack_labour", _("缺劳力")
    LACK_CAPITAL = "lack_capital", _("缺资金")
    POOR_TRANSPORT = "poor_transport", _("交通条件落后")
    LACK_MOTIVATION = "lack_motivation", _("自身发展动力不足")
    OTHER = "other", _("其他")


class HousingStructure(models.TextChoices):
    CONCRETE = "concrete", _("钢筋混凝土")
    BRICK_CONCRETE = "brick_concrete", _("砖混")
    BRICK_WOOD = "brick_wood", _("砖木")
    EARTH_WOOD = "earth_wood", _("土木")
    OTHER = "other", _("其他")


class HousingGrade(models.TextChoices):
    """Housing safety grade (房屋安全等级); C and D are dangerous (危房)."""

    A = "A", _("A级")
    B = "B", _("B级")
    C = "C", _("C级（局部危房）")
    D = "D", _("D级（整栋危房）")


class Sex(models.TextChoices):
    """GB/T 2261.1."""

    MALE = "1", _("男")
    FEMALE = "2", _("女")


class Ethnicity(models.TextChoices):
    """GB 3304 (中国各民族名称的罗马字母拼写法和代码)."""

    HAN = "01", _("汉族")
    MONGOL = "02", _("蒙古族")
    HUI = "03", _("回族")
    TIBETAN = "04", _("藏族")
    UYGHUR = "05", _("维吾尔族")
    MIAO = "06", _("苗族")
    YI = "07", _("彝族")
    ZHUANG = "08", _("壮族")
    BUYEI = "09", _("布依族")
    KOREAN = "10", _("朝鲜族")
    MANCHU = "11", _("满族")
    DONG = "12", _("侗族")
    YAO = "13", _("瑶族")
    BAI = "14", _("白族")
    TUJIA = "15", _("土家族")
    HANI = "16", _("哈尼族")
    KAZAKH = "17", _("哈萨克族")
    DAI = "18", _("傣族")
    LI = "19", _("黎族")
    LISU = "20", _("傈僳族")
    VA = "21", _("佤族")
    SHE = "22", _("畲族")
    GAOSHAN = "23", _("高山族")
    LAHU = "24", _("拉祜族")
    SUI = "25", _("水族")
    DONGXIANG = "26", _("东乡族")
    NAXI = "27", _("纳西族")
    JINGPO = "28", _("景颇族")
    KIRGIZ = "29", _("柯尔克孜族")
    TU = "30", _("土族")
    DAUR = "31", _("达斡尔族")
    MULAO = "32", _("仫佬族")
    QIANG = "33", _("羌族")
    BLANG = "34", _("布朗族")
    SALAR = "35", _("撒拉族")
    MAONAN = "36", _("毛南族")
    GELAO = "37", _("仡佬族")
    XIBE = "38", _("锡伯族")
    ACHANG = "39", _("阿昌族")
    PUMI = "40", _("普米族")
    TAJIK = "41", _("塔吉克族")
    NU = "42", _("怒族")
    UZBEK = "43", _("乌孜别克族")
    RUSSIAN = "44", _("俄罗斯族")
    EWENKI = "45", _("鄂温克族")
    DEANG = "46", _("德昂族")
    BONAN = "47", _("保安族")
    YUGUR = "48", _("裕固族")
    GIN = "49", _("京族")
    TATAR = "50", _("塔塔尔族")
    DERUNG = "51", _("独龙族")
    OROQEN = "52", _("鄂伦春族")
    HEZHEN = "53", _("赫哲族")
    MONBA = "54", _("门巴族")
    LHOBA = "55", _("珞巴族")
    JINO = "56", _("基诺族")
    OTHER = "97", _("其他未识别民族")
    FOREIGN_ORIGIN = "98", _("外国血统中国籍人士")


class Relationship(models.TextChoices):
    """Relationship to the head of household (与户主关系)."""

    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    SON = "son", _("子")
    DAUGHTER = "daughter", _("女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Education(models.TextChoices):
    ILLITERATE = "illiterate", _("文盲或半文盲")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")
    COLLEGE = "college", _("大专及以上")


class StudentStatus(models.TextChoices):
    PRESCHOOL = "preschool", _("学前")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")
    SECONDARY_VOCATIONAL = "secondary_vocational", _("中职")
    HIGHER_VOCATIONAL = "higher_vocational", _("高职/大专")
    UNDERGRADUATE = "undergraduate", _("本科及以上")
    NOT_STUDENT = "not_student", _("非在校生")


class LabourAbility(models.TextChoices):
    ORDINARY = "ordinary", _("普通劳动力")
    SKILLED = "skilled", _("技能劳动力")
    WEAK = "weak", _("弱劳动力或半劳动力")
    LOST = "lost", _("丧失劳动力")
    NONE = "none", _("无劳动力")


class MigrantWork(models.TextChoices):
    NONE = "none", _("未外出务工")
    IN_COUNTY = "in_county", _("县内")
    IN_PROVINCE = "in_province", _("县外省内")
    OUT_OF_PROVINCE = "out_of_province", _("省外")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    DECEASED = "deceased", _("死亡")
    MOVED_OUT = "moved_out", _("迁出")
    MARRIED_OUT = "married_out", _("婚出")
    REMOVED = "removed", _("核减")


class MemberEventKind(models.TextChoices):
    """A change in the household's membership (家庭成员变动)."""

    BIRTH = "birth", _("出生")
    MARRIAGE_IN = "marriage_in", _("婚入")
    MOVE_IN = "move_in", _("迁入")
    DEATH = "death", _("死亡")
    MARRIAGE_OUT = "marriage_out", _("婚出")
    MOVE_OUT = "move_out", _("迁出")


#: Member status an outgoing event leaves behind.
EVENT_MEMBER_STATUS = {
    MemberEventKind.DEATH: MemberStatus.DECEASED,
    MemberEventKind.MARRIAGE_OUT: MemberStatus.MARRIED_OUT,
    MemberEventKind.MOVE_OUT: MemberStatus.MOVED_OUT,
}
INCOMING_EVENTS = (MemberEventKind.BIRTH, MemberEventKind.MARRIAGE_IN, MemberEventKind.MOVE_IN)


class ObjectionOutcome(models.TextChoices):
    PENDING = "pending", _("待处理")
    UPHELD_RETURN = "upheld_return", _("异议成立，退回重新评议")
    UPHELD_REJECT = "upheld_reject", _("异议成立，不予识别")
    DISMISSED = "dismissed", _("异议不成立")


class NaturalDecreaseReason(models.TextChoices):
    DECEASED = "deceased", _("整户死亡")
    MOVED_OUT = "moved_out", _("整户迁出")
    MERGED = "merged", _("合户")


class CrossCheckCategory(models.TextChoices):
    """Categories of department cross-check lists (部门比对)."""

    PUBLIC_EMPLOYEE = "public_employee", _("财政供养人员")
    VILLAGE_CADRE = "village_cadre", _("村干部")
    VEHICLE = "vehicle", _("车辆")
    COMMERCIAL_HOUSING = "commercial_housing", _("城镇商品房")
    BUSINESS = "business", _("工商注册")
    DEATH = "death", _("死亡")


class DisclosureDoor(models.TextChoices):
    """Where full personal identifiers were shown (个人信息查看途径)."""

    PAGE = "page", _("页面查看")
    EXPORT = "export", _("导出")
    API = "api", _("接口")

"""The words mail clients write around a forwarded message, per language.

Data only: header labels, separator and intro lines, month and weekday names, zone
abbreviations. Gathered from the documented output of Outlook (desktop, web, new), Gmail,
Apple Mail, Thunderbird, Yahoo, HubSpot, Missive, IONOS and MailMate in about twenty
languages; French first, as the product's users are. Correct or extend freely.
"""

from __future__ import annotations

# Header labels of a forwarded block, by field. Matched case-insensitively, followed by ":"
# (or the full-width "：", optionally with a space before it, as French writes).
LABELS: dict[str, tuple[str, ...]] = {
    "from": ("from", "de", "von", "da", "van", "expéditeur", "remitente", "afzender", "mittente",
             "od", "fra", "från", "lähettäjä", "šalje", "feladó", "kimden", "от", "отправитель",
             "від", "від кого", "nadawca", "expeditorul", "de la", "saatja", "gönderen", "送信元",
             "sender", "absender"),
    "date": ("date", "sent", "envoyé", "envoyé le", "enviado el", "inviato il", "gesendet", "datum", "inviato", "enviado",
             "verzonden", "data", "fecha", "dato", "päivämäärä", "päiväys", "dátum", "tarih",
             "дата", "dată", "sendt", "skickat", "lähetetty", "elküldve", "wysłano", "trimis",
             "отправлено", "відправлено", "odoslané", "日付", "sent at"),
    "to": ("to", "à", "a", "an", "para", "aan", "destinataire", "destinataires", "destinatario",
           "pour", "komu", "til", "till", "vastaanottaja", "prima", "címzett", "kime", "кому", "do",
           "destinatarul", "către", "pre", "adresat", "送信先", "empfänger"),
    "cc": ("cc", "kopie", "kopie (cc)", "copia", "kopi", "kopia", "kopio", "másolat", "másolatot kap",
           "bilgi", "копия", "копія", "dw", "kópia", "copie à", "copie"),
    "subject": ("subject", "objet", "betreff", "oggetto", "asunto", "onderwerp", "assunto", "sujet",
                "předmět", "emne", "ämne", "aihe", "predmet", "tárgy", "konu", "тема", "temat",
                "subiectul", "subiect", "naslov", "件名", "titre"),
    "reply_to": ("reply-to", "répondre à", "antwort an", "responder a", "rispondi a", "antwoord aan",
                 "svar til", "svara till", "odpověď na", "odpowiedź-do", "ответ-кому", "yanıt adresi"),
}

# Dashed separator lines and intro lines (Apple Mail, MailMate: a sentence ending with ":")
# that say "forwarded". "Original message" lines are not among them: clients write those above
# replies too, so they only count when the subject has a forward prefix.
FORWARD_WORDS = (
    "forward", "transféré", "transfere", "transmis",
    "réexpédié", "reexpedie", "weitergeleitet", "reenviado",
    "inoltrato", "doorgestuurd",
    "encaminhada", "reencaminhada", "vidarebefordrat", "videresendt",
    "välitetty", "edelleenlähetetty", "fwd.msg", "przekazan", "przekazyw", "przesłan", "przeslan", "přeposlan", "přeposílan",
    "preposlan", "továbbított", "redirecționat", "redirectionat", "переадрес", "пересила", "переслан",
    "перенаправлен", "пересыла", "iletilen", "iletilmiş", "ileti başlangıcı", "proslijeđen", "転送",
)

MONTHS: dict[str, int] = {}
_MONTH_NAMES = [
    # en, fr, de, es, it, nl, pt, sv, da/no, fi, pl, cs, sk, hr, hu, ro, ru, uk, tr
    ("january", "janvier", "januar", "jänner", "enero", "gennaio", "januari", "janeiro", "tammikuuta",
     "tammikuu", "stycznia", "styczeń", "ledna", "leden", "januára", "január", "siječnja", "ianuarie",
     "января", "січня", "ocak"),
    ("february", "février", "fevrier", "februar", "febrero", "febbraio", "februari", "fevereiro",
     "helmikuuta", "helmikuu", "lutego", "luty", "února", "únor", "februára", "február", "veljače",
     "februarie", "февраля", "лютого", "şubat", "subat"),
    ("march", "mars", "märz", "marzo", "maart", "março", "marts", "maaliskuuta", "maaliskuu", "marca",
     "marzec", "března", "březen", "márc", "március", "ožujka", "martie", "марта", "березня", "mart"),
    ("april", "avril", "abril", "aprile", "huhtikuuta", "huhtikuu", "kwietnia", "kwiecień", "dubna",
     "duben", "apríla", "április", "travnja", "aprilie", "апреля", "квітня", "nisan"),
    ("may", "mai", "mayo", "maggio", "mei", "maio", "maj", "toukokuuta", "toukokuu", "maja", "maj",
     "května", "květen", "mája", "május", "svibnja", "мая", "травня", "mayıs", "mayis"),
    ("june", "juin", "juni", "junio", "giugno", "junho", "kesäkuuta", "kesäkuu", "czerwca", "czerwiec",
     "června", "červen", "júna", "június", "lipnja", "iunie", "июня", "червня", "haziran"),
    ("july", "juillet", "juli", "julio", "luglio", "julho", "heinäkuuta", "heinäkuu", "lipca", "lipiec",
     "července", "červenec", "júla", "július", "srpnja", "iulie", "июля", "липня", "temmuz"),
    ("august", "août", "aout", "agosto", "augustus", "augusti", "elokuuta", "elokuu", "sierpnia",
     "sierpień", "srpna", "srpen", "augusta", "augusztus", "kolovoza", "августа", "серпня", "ağustos",
     "agustos"),
    ("september", "septembre", "septiembre", "settembre", "setembro", "syyskuuta", "syyskuu",
     "września", "wrzesień", "září", "septembra", "szeptember", "rujna", "septembrie", "сентября",
     "вересня", "eylül", "eylul"),
    ("october", "octobre", "oktober", "octubre", "ottobre", "outubro", "lokakuuta", "lokakuu",
     "października", "październik", "října", "říjen", "októbra", "október", "listopada", "octombrie",
     "октября", "жовтня", "ekim"),
    ("november", "novembre", "noviembre", "novembro", "marraskuuta", "marraskuu", "listopada",
     "listopad", "listopadu", "novembra", "studenoga", "noiembrie", "ноября", "листопада", "kasım",
     "kasim"),
    ("december", "décembre", "decembre", "dezember", "diciembre", "dicembre", "dezembro", "joulukuuta",
     "joulukuu", "grudnia", "grudzień", "prosince", "prosinec", "decembra", "prosinca", "decembrie",
     "декабря", "грудня", "aralık", "aralik"),
]
for _number, _names in enumerate(_MONTH_NAMES, start=1):
    for _name in _names:
        MONTHS.setdefault(_name, _number)
# "listopada" is October in Croatian and November in Polish: the Polish reading (more common
# in mail) wins, as setdefault above keeps the first, October; fix it explicitly.
MONTHS["listopada"] = 11

# Abbreviations (a prefix of 3 to 5 letters, with or without a dot), unambiguous ones only.
MONTH_ABBREVIATIONS: dict[str, int] = {
    "jan": 1, "janv": 1, "ene": 1, "gen": 1, "jän": 1, "sty": 1, "led": 1, "tammik": 1, "oca": 1,
    "feb": 2, "fév": 2, "fev": 2, "févr": 2, "fevr": 2, "febr": 2, "lut": 2, "úno": 2, "helmik": 2, "şub": 2,
    "mar": 3, "mär": 3, "maa": 3, "márc": 3, "maalisk": 3,
    "apr": 4, "avr": 4, "abr": 4, "kwi": 4, "ápr": 4, "huhtik": 4, "nis": 4,
    "may": 5, "mai": 5, "mei": 5, "mag": 5, "máj": 5, "toukok": 5,
    "jun": 6, "juin": 6, "giu": 6, "jún": 6, "cze": 6, "kesäk": 6, "haz": 6,
    "jul": 7, "juil": 7, "lug": 7, "júl": 7, "lip": 7, "heinäk": 7, "tem": 7,
    "aug": 8, "aoû": 8, "aou": 8, "ago": 8, "sie": 8, "elok": 8, "ağu": 8,
    "sep": 9, "sept": 9, "set": 9, "wrz": 9, "szept": 9, "syysk": 9, "eyl": 9,
    "oct": 10, "okt": 10, "ott": 10, "out": 10, "paź": 10, "lokak": 10, "eki": 10, "окт": 10, "жовт": 10,
    "nov": 11, "lis": 11, "marrask": 11, "kas": 11, "ноя": 11,
    "dec": 12, "déc": 12, "dez": 12, "dic": 12, "gru": 12, "jouluk": 12, "ara": 12, "дек": 12,
}

WEEKDAYS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado", "domingo",
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
    "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag", "mandag", "tirsdag",
    "lørdag", "søndag", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai",
    "sunnuntai", "maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina",
    "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela",
    "pondělí", "úterý", "středa", "čtvrtek", "pátek", "neděle", "pondelok", "utorok", "streda",
    "štvrtok", "piatok", "nedeľa", "hétfő", "kedd", "szerda", "csütörtök", "péntek", "szombat",
    "vasárnap", "luni", "marți", "miercuri", "joi", "vineri", "sâmbătă", "duminică",
    "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье",
    "pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar",
}

# Zone abbreviations written after times, in minutes east of UTC.
ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "west": 60, "bst": 60, "cet": 60, "cest": 120,
    "mez": 60, "mesz": 120, "eet": 120, "eest": 180, "oez": 120, "oesz": 180, "seč": 60, "selč": 120,
    "msk": 180, "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360,
    "pst": -480, "pdt": -420,
}

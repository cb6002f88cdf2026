//! The vocabulary the generator draws from: names, places, phone plans, company words, products
//! and search terms for six countries in three scripts, written for this project and kept small.
//!
//! Latin-script words are written once with their diacritics; [`fold`] derives the ASCII form
//! used in e-mail addresses and domains. Japanese entries carry both forms as `native|romanised`.
//! Phone prefixes are mobile (or, in the US, geographic) ranges that libphonenumber accepts.

/// A country's share of people and everything needed to make its people look local.
pub struct Country {
    pub code: &'static str,
    pub weight: u32,
    pub locale: &'static str,
    /// Offset of local time from UTC in hours, for daily seasonality in local time.
    pub utc_offset_hours: i64,
    pub female: &'static [&'static str],
    pub male: &'static [&'static str],
    pub family: &'static [&'static str],
    pub cities: &'static [City],
    pub streets: &'static [&'static str],
    pub street_style: StreetStyle,
    pub postal_digits: usize,
    pub postal_hyphen_at: Option<usize>,
    pub calling_code: &'static str,
    /// Prefixes of the national number; empty means the city's area code.
    pub phone_prefixes: &'static [&'static str],
    pub national_digits: usize,
    pub mail_domains: &'static [&'static str],
    pub tld: &'static str,
    pub company_first: &'static [&'static str],
    /// The second word of a company name and the industry it names.
    pub company_second: &'static [(&'static str, &'static str)],
    /// Whether the industry word comes first (`Logística Ibérica`).
    pub noun_first: bool,
    pub legal_forms: &'static [&'static str],
    pub titles: &'static [&'static str],
    /// Sales tax or VAT added to orders, in hundredths of a percent.
    pub tax_basis_points: u64,
    pub searches: &'static [&'static str],
}

pub struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub postal_prefix: &'static str,
    pub area_code: &'static str,
}

#[derive(Clone, Copy)]
pub enum StreetStyle {
    /// `12 Main Street`, `12 rue de la Paix`
    NumberFirst,
    /// `Hauptstraße 12`, `ul. Długa 12`
    NumberLast,
    /// `Calle Mayor, 12`
    CommaNumber,
    /// `渋谷1-2-3` or `1-2-3 Shibuya`
    Block,
}

const fn city(name: &'static str, region: &'static str, postal_prefix: &'static str, area_code: &'static str) -> City {
    City { name, region, postal_prefix, area_code }
}

pub const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        weight: 40,
        locale: "en-US",
        utc_offset_hours: -6,
        female: &[
            "Mary",
            "Patricia",
            "Jennifer",
            "Linda",
            "Elizabeth",
            "Barbara",
            "Susan",
            "Jessica",
            "Sarah",
            "Karen",
            "Emily",
            "Margaret",
            "Katherine",
            "Ashley",
            "Olivia",
            "Emma",
        ],
        male: &[
            "James",
            "Robert",
            "John",
            "Michael",
            "David",
            "William",
            "Richard",
            "Joseph",
            "Thomas",
            "Christopher",
            "Daniel",
            "Matthew",
            "Anthony",
            "Andrew",
            "Joshua",
            "Benjamin",
        ],
        family: &[
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Hernandez",
            "Lopez",
            "Wilson",
            "Anderson",
            "Taylor",
            "Moore",
            "Jackson",
            "Lee",
            "O'Brien",
            "Nguyen",
        ],
        cities: &[
            city("Austin", "TX", "787", "512"),
            city("Houston", "TX", "770", "713"),
            city("Dallas", "TX", "752", "214"),
            city("San Antonio", "TX", "782", "210"),
            city("New York", "NY", "100", "212"),
            city("Brooklyn", "NY", "112", "718"),
            city("Los Angeles", "CA", "900", "213"),
            city("San Francisco", "CA", "941", "415"),
            city("Chicago", "IL", "606", "312"),
            city("Seattle", "WA", "981", "206"),
            city("Miami", "FL", "331", "305"),
            city("Denver", "CO", "802", "303"),
            city("Boston", "MA", "021", "617"),
        ],
        streets: &[
            "Main Street",
            "Oak Avenue",
            "Maple Drive",
            "Congress Avenue",
            "Elm Street",
            "Cedar Lane",
            "Park Place",
            "Lakeview Road",
            "Sunset Boulevard",
            "Washington Street",
        ],
        street_style: StreetStyle::NumberFirst,
        postal_digits: 5,
        postal_hyphen_at: None,
        calling_code: "1",
        phone_prefixes: &[],
        national_digits: 10,
        mail_domains: &["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
        tld: "com",
        company_first: &[
            "Lone Star",
            "Blue Ridge",
            "Summit",
            "Pioneer",
            "Evergreen",
            "Redwood",
            "Liberty",
            "Northstar",
            "Riverbend",
            "Ironwood",
            "Bright Path",
            "Prairie",
        ],
        company_second: &[
            ("Analytics", "software"),
            ("Logistics", "logistics"),
            ("Outfitters", "retail"),
            ("Health", "healthcare"),
            ("Software", "software"),
            ("Capital", "finance"),
            ("Foods", "food"),
            ("Energy", "energy"),
            ("Robotics", "manufacturing"),
            ("Media", "media"),
        ],
        noun_first: false,
        legal_forms: &["Inc.", "LLC", "Corp."],
        titles: &[],
        tax_basis_points: 825,
        searches: &["running shoes", "trail shoes", "gps watch", "rain jacket", "socks", "marathon"],
    },
    Country {
        code: "DE",
        weight: 15,
        locale: "de-DE",
        utc_offset_hours: 1,
        female: &[
            "Anna",
            "Maria",
            "Ursula",
            "Monika",
            "Petra",
            "Sabine",
            "Katharina",
            "Franziska",
            "Julia",
            "Lena",
            "Jördis",
            "Käthe",
        ],
        male: &[
            "Jürgen",
            "Jörg",
            "Hans",
            "Johannes",
            "Wolfgang",
            "Klaus",
            "Stefan",
            "Michael",
            "Thomas",
            "Andreas",
            "Lukas",
            "Maximilian",
            "Björn",
        ],
        family: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Groß",
            "Köhler",
        ],
        cities: &[
            city("Berlin", "Berlin", "10", ""),
            city("München", "Bayern", "80", ""),
            city("Hamburg", "Hamburg", "20", ""),
            city("Köln", "Nordrhein-Westfalen", "50", ""),
            city("Frankfurt am Main", "Hessen", "60", ""),
            city("Düsseldorf", "Nordrhein-Westfalen", "40", ""),
            city("Leipzig", "Sachsen", "04", ""),
        ],
        streets: &[
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenstraße",
            "Schillerstraße",
            "Goethestraße",
            "Lindenallee",
            "Am Mühlbach",
            "Königsweg",
            "Friedrichstraße",
            "Schloßplatz",
        ],
        street_style: StreetStyle::NumberLast,
        postal_digits: 5,
        postal_hyphen_at: None,
        calling_code: "49",
        phone_prefixes: &["151", "152", "157", "160", "170", "176"],
        national_digits: 11,
        mail_domains: &["gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"],
        tld: "de",
        company_first: &["Nordwind", "Alpen", "Rhein", "Elbe", "Schwarzwald", "Isar", "Spree", "Bergland", "Sonnenhof"],
        company_second: &[
            ("Logistik", "logistics"),
            ("Maschinenbau", "manufacturing"),
            ("Software", "software"),
            ("Handel", "retail"),
            ("Bau", "construction"),
            ("Energie", "energy"),
            ("Medien", "media"),
            ("Feinkost", "food"),
        ],
        noun_first: false,
        legal_forms: &["GmbH", "AG", "KG", "GmbH & Co. KG"],
        titles: &["Geschäftsführerin", "Einkaufsleiter", "Vertriebsleiterin"],
        tax_basis_points: 1900,
        searches: &["laufschuhe", "trailschuhe", "regenjacke", "laufuhr", "socken"],
    },
    Country {
        code: "FR",
        weight: 12,
        locale: "fr-FR",
        utc_offset_hours: 1,
        female: &[
            "Marie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Élodie", "Hélène", "Nathalie", "Isabelle", "Sophie",
            "Céline",
        ],
        male: &[
            "Jean",
            "Pierre",
            "Louis",
            "Hugo",
            "Lucas",
            "Gabriel",
            "Frédéric",
            "François",
            "Nicolas",
            "Stéphane",
            "Jérôme",
            "Théo",
        ],
        family: &[
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Lefèvre",
            "Girard",
            "Bonnet",
            "François",
            "Mercier",
            "Lambert",
            "Fontaine",
            "Rousseau",
            "Chevalier",
        ],
        cities: &[
            city("Paris", "Île-de-France", "750", ""),
            city("Lyon", "Auvergne-Rhône-Alpes", "6900", ""),
            city("Marseille", "Provence-Alpes-Côte d'Azur", "130", ""),
            city("Toulouse", "Occitanie", "310", ""),
            city("Nantes", "Pays de la Loire", "440", ""),
            city("Lille", "Hauts-de-France", "590", ""),
        ],
        streets: &[
            "rue de la République",
            "avenue Jean Jaurès",
            "boulevard Saint-Michel",
            "rue Victor Hugo",
            "place de l'Église",
            "rue des Écoles",
            "chemin des Vignes",
            "allée des Châtaigniers",
        ],
        street_style: StreetStyle::NumberFirst,
        postal_digits: 5,
        postal_hyphen_at: None,
        calling_code: "33",
        phone_prefixes: &["61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78"],
        national_digits: 9,
        mail_domains: &["orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr"],
        tld: "fr",
        company_first: &["Lumière", "Horizon", "Azur", "Étoile", "Provence", "Atlantique", "Mistral", "Bel Air"],
        company_second: &[
            ("Conseil", "consulting"),
            ("Distribution", "retail"),
            ("Informatique", "software"),
            ("Bâtiment", "construction"),
            ("Transports", "logistics"),
            ("Médias", "media"),
            ("Santé", "healthcare"),
        ],
        noun_first: false,
        legal_forms: &["SARL", "SAS", "SA"],
        titles: &["Directrice commerciale", "Responsable des achats", "Chef de projet"],
        tax_basis_points: 2000,
        searches: &["chaussures de course", "chaussures trail", "veste de pluie", "montre gps", "chaussettes"],
    },
    Country {
        code: "ES",
        weight: 10,
        locale: "es-ES",
        utc_offset_hours: 1,
        female: &[
            "María", "Carmen", "Lucía", "Sofía", "Paula", "Laura", "Marta", "Ana", "Dolores", "Pilar", "Elena",
            "Isabel",
        ],
        male: &[
            "José",
            "Antonio",
            "Manuel",
            "Francisco",
            "David",
            "Javier",
            "Daniel",
            "Carlos",
            "Jesús",
            "Alejandro",
            "Ignacio",
            "Sergio",
        ],
        family: &[
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
            "Muñoz",
            "Álvarez",
            "Romero",
        ],
        cities: &[
            city("Madrid", "Comunidad de Madrid", "280", ""),
            city("Barcelona", "Cataluña", "080", ""),
            city("Valencia", "Comunitat Valenciana", "460", ""),
            city("Sevilla", "Andalucía", "410", ""),
            city("Málaga", "Andalucía", "290", ""),
            city("Bilbao", "País Vasco", "480", ""),
            city("Zaragoza", "Aragón", "500", ""),
        ],
        streets: &[
            "Calle Mayor",
            "Avenida de la Constitución",
            "Calle de Alcalá",
            "Plaza de España",
            "Calle Real",
            "Paseo de Gracia",
            "Calle San Fernando",
            "Calle del Sol",
        ],
        street_style: StreetStyle::CommaNumber,
        postal_digits: 5,
        postal_hyphen_at: None,
        calling_code: "34",
        phone_prefixes: &["6"],
        national_digits: 9,
        mail_domains: &["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
        tld: "es",
        company_first: &["Ibérica", "Mediterránea", "Atlántica", "Cantábrica", "Andaluza", "Castellana"],
        company_second: &[
            ("Logística", "logistics"),
            ("Tecnología", "software"),
            ("Alimentación", "food"),
            ("Construcciones", "construction"),
            ("Energía", "energy"),
            ("Textil", "retail"),
        ],
        noun_first: true,
        legal_forms: &["S.L.", "S.A."],
        titles: &["Jefa de compras", "Director comercial", "Responsable de marketing"],
        tax_basis_points: 2100,
        searches: &["zapatillas running", "zapatillas trail", "chaqueta impermeable", "reloj gps", "calcetines"],
    },
    Country {
        code: "PL",
        weight: 10,
        locale: "pl-PL",
        utc_offset_hours: 1,
        female: &[
            "Anna",
            "Katarzyna",
            "Małgorzata",
            "Agnieszka",
            "Barbara",
            "Ewa",
            "Magdalena",
            "Joanna",
            "Aleksandra",
            "Zofia",
            "Natalia",
            "Krystyna",
        ],
        male: &[
            "Piotr",
            "Krzysztof",
            "Andrzej",
            "Tomasz",
            "Paweł",
            "Michał",
            "Marcin",
            "Łukasz",
            "Jakub",
            "Grzegorz",
            "Aleksander",
            "Wojciech",
        ],
        family: &[
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Woźniak",
            "Dąbrowski",
            "Kozłowski",
            "Jankowski",
            "Mazur",
            "Kwiatkowski",
            "Krawczyk",
        ],
        cities: &[
            city("Warszawa", "mazowieckie", "00", ""),
            city("Kraków", "małopolskie", "30", ""),
            city("Wrocław", "dolnośląskie", "50", ""),
            city("Gdańsk", "pomorskie", "80", ""),
            city("Poznań", "wielkopolskie", "60", ""),
            city("Łódź", "łódzkie", "90", ""),
        ],
        streets: &[
            "ul. Marszałkowska",
            "ul. Długa",
            "ul. Piotrkowska",
            "ul. Floriańska",
            "al. Jerozolimskie",
            "ul. Świętokrzyska",
            "ul. Żeromskiego",
            "ul. Kościuszki",
        ],
        street_style: StreetStyle::NumberLast,
        postal_digits: 5,
        postal_hyphen_at: Some(2),
        calling_code: "48",
        phone_prefixes: &["50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88"],
        national_digits: 9,
        mail_domains: &["wp.pl", "onet.pl", "interia.pl", "gmail.com", "o2.pl"],
        tld: "pl",
        company_first: &["Wisła", "Tatry", "Bałtyk", "Mazowsze", "Orzeł", "Bursztyn"],
        company_second: &[
            ("Logistyka", "logistics"),
            ("Budownictwo", "construction"),
            ("Technologie", "software"),
            ("Handel", "retail"),
            ("Energia", "energy"),
            ("Media", "media"),
        ],
        noun_first: false,
        legal_forms: &["sp. z o.o.", "S.A."],
        titles: &["Kierownik projektu", "Dyrektor sprzedaży", "Specjalistka ds. zakupów"],
        tax_basis_points: 2300,
        searches: &["buty do biegania", "buty trailowe", "kurtka przeciwdeszczowa", "zegarek gps", "skarpety"],
    },
    Country {
        code: "JP",
        weight: 13,
        locale: "ja-JP",
        utc_offset_hours: 9,
        female: &[
            "陽葵|Himari",
            "結衣|Yui",
            "さくら|Sakura",
            "美咲|Misaki",
            "葵|Aoi",
            "花子|Hanako",
            "優子|Yuko",
            "恵子|Keiko",
        ],
        male: &[
            "陽翔|Haruto",
            "蓮|Ren",
            "大翔|Hiroto",
            "翔太|Shota",
            "健太|Kenta",
            "拓海|Takumi",
            "浩|Hiroshi",
            "誠|Makoto",
        ],
        family: &[
            "佐藤|Sato",
            "鈴木|Suzuki",
            "高橋|Takahashi",
            "田中|Tanaka",
            "伊藤|Ito",
            "渡辺|Watanabe",
            "山本|Yamamoto",
            "中村|Nakamura",
            "小林|Kobayashi",
            "加藤|Kato",
            "吉田|Yoshida",
            "山田|Yamada",
        ],
        cities: &[
            city("東京|Tokyo", "東京都|Tokyo", "1", ""),
            city("大阪|Osaka", "大阪府|Osaka", "53", ""),
            city("横浜|Yokohama", "神奈川県|Kanagawa", "22", ""),
            city("名古屋|Nagoya", "愛知県|Aichi", "45", ""),
            city("札幌|Sapporo", "北海道|Hokkaido", "06", ""),
            city("福岡|Fukuoka", "福岡県|Fukuoka", "81", ""),
            city("京都|Kyoto", "京都府|Kyoto", "60", ""),
        ],
        streets: &[
            "千代田|Chiyoda",
            "渋谷|Shibuya",
            "中央|Chuo",
            "栄|Sakae",
            "本町|Honmachi",
            "梅田|Umeda",
            "天神|Tenjin",
        ],
        street_style: StreetStyle::Block,
        postal_digits: 7,
        postal_hyphen_at: Some(3),
        calling_code: "81",
        phone_prefixes: &["90", "80", "70"],
        national_digits: 10,
        mail_domains: &["docomo.ne.jp", "yahoo.co.jp", "gmail.com", "icloud.com"],
        tld: "co.jp",
        company_first: &["桜|Sakura", "富士|Fuji", "青葉|Aoba", "大和|Yamato", "光|Hikari", "東海|Tokai"],
        company_second: &[
            ("商事|Shoji", "retail"),
            ("物流|Butsuryu", "logistics"),
            ("電機|Denki", "manufacturing"),
            ("食品|Shokuhin", "food"),
            ("建設|Kensetsu", "construction"),
            ("システム|Systems", "software"),
        ],
        noun_first: false,
        legal_forms: &["株式会社|K.K."],
        titles: &["部長|Department Manager", "課長|Section Manager"],
        tax_basis_points: 1000,
        searches: &["ランニングシューズ", "トレイルシューズ", "レインジャケット", "gps watch", "靴下"],
    },
];

/// Titles used in every country, beside each country's own.
pub const TITLES: &[&str] = &[
    "CEO",
    "Head of Purchasing",
    "Marketing Manager",
    "Sales Director",
    "Software Engineer",
    "Operations Manager",
    "Office Manager",
    "Account Executive",
    "Product Manager",
    "Store Manager",
    "Accountant",
    "Founder",
];

/// Formal given names and the short forms people also go by.
pub const NICKNAMES: &[(&str, &str)] = &[
    ("Robert", "Bob"),
    ("William", "Bill"),
    ("Richard", "Dick"),
    ("James", "Jim"),
    ("John", "Jack"),
    ("Michael", "Mike"),
    ("Christopher", "Chris"),
    ("Joseph", "Joe"),
    ("Thomas", "Tom"),
    ("Daniel", "Dan"),
    ("Matthew", "Matt"),
    ("Anthony", "Tony"),
    ("Andrew", "Andy"),
    ("Joshua", "Josh"),
    ("Benjamin", "Ben"),
    ("David", "Dave"),
    ("Elizabeth", "Liz"),
    ("Margaret", "Peggy"),
    ("Katherine", "Kate"),
    ("Jennifer", "Jenny"),
    ("Patricia", "Pat"),
    ("Susan", "Sue"),
    ("Jessica", "Jess"),
    ("Johannes", "Hannes"),
    ("Franziska", "Franzi"),
    ("Katharina", "Kathi"),
    ("Maximilian", "Max"),
    ("Andreas", "Andi"),
    ("Nicolas", "Nico"),
    ("Frédéric", "Fred"),
    ("Francisco", "Paco"),
    ("José", "Pepe"),
    ("Ignacio", "Nacho"),
    ("Dolores", "Lola"),
    ("Manuel", "Manolo"),
    ("Aleksander", "Olek"),
    ("Małgorzata", "Gosia"),
    ("Katarzyna", "Kasia"),
    ("Aleksandra", "Ola"),
    ("Magdalena", "Magda"),
    ("Tomasz", "Tomek"),
    ("Piotr", "Piotrek"),
];

pub const TAGS: &[&str] =
    &["newsletter", "vip", "wholesale", "marathon", "trail", "beta-tester", "event-2025", "referral", "b2b"];

/// A product category: its code (the `category` column), SKU prefix, share of the catalogue,
/// price range in cents and the models sold in it.
pub struct Category {
    pub code: &'static str,
    pub sku_prefix: &'static str,
    pub weight: u32,
    pub price_cents: (u64, u64),
    pub models: &'static [&'static str],
    pub kind: &'static str,
    pub gendered: bool,
    pub coloured: bool,
}

pub const CATEGORIES: &[Category] = &[
    Category {
        code: "running_shoes",
        sku_prefix: "RS",
        weight: 25,
        price_cents: (7_900, 21_900),
        models: &["Road Racer", "Tempo", "Cloudline", "Marathon Elite", "Daily Trainer", "Sprint Lite", "Glide"],
        kind: "Running Shoe",
        gendered: true,
        coloured: true,
    },
    Category {
        code: "trail_shoes",
        sku_prefix: "TS",
        weight: 10,
        price_cents: (9_900, 22_900),
        models: &["Trail Hawk", "Ridge Runner", "Summit Grip", "Mudlark"],
        kind: "Trail Shoe",
        gendered: true,
        coloured: true,
    },
    Category {
        code: "apparel",
        sku_prefix: "AP",
        weight: 25,
        price_cents: (1_900, 8_900),
        models: &["Training Tee", "Half Tights", "Running Shorts", "Long Sleeve Top", "Sports Bra", "Singlet"],
        kind: "",
        gendered: true,
        coloured: true,
    },
    Category {
        code: "outerwear",
        sku_prefix: "OW",
        weight: 10,
        price_cents: (5_900, 24_900),
        models: &["Rain Shell", "Insulated Vest", "Wind Jacket", "Thermal Hoodie"],
        kind: "",
        gendered: true,
        coloured: true,
    },
    Category {
        code: "accessories",
        sku_prefix: "AC",
        weight: 15,
        price_cents: (900, 3_900),
        models: &["Running Socks 3-Pack", "Cap", "Headlamp", "Hydration Belt", "Arm Sleeves", "Gloves"],
        kind: "",
        gendered: false,
        coloured: true,
    },
    Category {
        code: "electronics",
        sku_prefix: "EL",
        weight: 5,
        price_cents: (9_900, 49_900),
        models: &["GPS Watch", "Heart Rate Strap", "Wireless Earbuds", "Foot Pod"],
        kind: "",
        gendered: false,
        coloured: true,
    },
    Category {
        code: "nutrition",
        sku_prefix: "NU",
        weight: 10,
        price_cents: (200, 3_900),
        models: &["Energy Gel 12-Pack", "Electrolyte Tabs", "Recovery Shake", "Energy Bar Box"],
        kind: "",
        gendered: false,
        coloured: false,
    },
];

pub const BRANDS: &[&str] = &["Stridewell", "Kestrel", "Nordpfad", "Vento", "Altura", "Hayate", "Lynxa", "Borealis"];

pub const COLOURS: &[&str] = &["Black", "White", "Blue", "Red", "Volt", "Grey", "Coral", "Forest"];

/// Splits a `native|romanised` entry; Latin-script entries are their own romanisation.
pub fn forms(entry: &'static str) -> (&'static str, Option<&'static str>) {
    match entry.split_once('|') {
        Some((native, latin)) => (native, Some(latin)),
        None => (entry, None),
    }
}

/// ASCII letters for addresses and domains: German umlauts become two letters as Germans write
/// them without the dots, other diacritics are dropped, everything but letters and digits goes.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let folded = match c {
            'ä' | 'Ä' => "ae",
            'ö' | 'Ö' => "oe",
            'ü' | 'Ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ą' | 'À' | 'Á' | 'Â' | 'Ą' => "a",
            'ç' | 'ć' | 'Ç' | 'Ć' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'ę' | 'É' | 'È' | 'Ê' | 'Ę' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'Í' | 'Î' => "i",
            'ł' | 'Ł' => "l",
            'ñ' | 'ń' | 'Ñ' | 'Ń' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'Ó' | 'Ô' => "o",
            'ś' | 'Ś' => "s",
            'ù' | 'ú' | 'û' | 'Ú' | 'Û' => "u",
            'ź' | 'ż' | 'Ź' | 'Ż' => "z",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => continue,
        };
        out.push_str(folded);
    }
    out
}

/// Like [`fold`] but keeps the letters' case and strips only the diacritics, as people write a
/// name on a keyboard without them (`Müller` → `Mueller`, `Hélène` → `Helene`).
pub fn strip_diacritics(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let lower: String = c.to_lowercase().collect();
        let folded = if c.is_ascii() { None } else { Some(fold(&lower)) };
        match folded {
            Some(f) if !f.is_empty() => {
                if c.is_uppercase() {
                    let mut chars = f.chars();
                    out.extend(chars.next().map(|first| first.to_ascii_uppercase()));
                    out.extend(chars);
                } else {
                    out.push_str(&f);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{COUNTRIES, NICKNAMES, fold, strip_diacritics};

    #[test]
    fn folding_writes_names_as_an_address_would() {
        assert_eq!(fold("Müller"), "mueller");
        assert_eq!(fold("Łukasz"), "lukasz");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("Hélène"), "helene");
        assert_eq!(strip_diacritics("Müller"), "Mueller");
        assert_eq!(strip_diacritics("Élodie"), "Elodie");
        assert_eq!(strip_diacritics("Smith"), "Smith");
    }

    #[test]
    fn every_word_folds_to_something_for_addresses() {
        for country in COUNTRIES {
            for entry in country.female.iter().chain(country.male).chain(country.family) {
                let (native, latin) = super::forms(entry);
                assert!(!fold(latin.unwrap_or(native)).is_empty(), "{entry}");
            }
        }
    }

    #[test]
    fn every_nickname_belongs_to_a_listed_given_name() {
        for (formal, _) in NICKNAMES {
            assert!(
                COUNTRIES.iter().any(|c| c.female.contains(formal) || c.male.contains(formal)),
                "{formal} is not a given name in any country"
            );
        }
    }

    #[test]
    fn texas_is_among_the_us_states() {
        let us = COUNTRIES.iter().find(|c| c.code == "US").map(|c| c.cities);
        assert!(us.is_some_and(|cities| cities.iter().any(|city| city.region == "TX")));
    }
}

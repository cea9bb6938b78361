//! Job titles: free text ("Sr. Mgr, Mktg Ops", "Vertriebsleiter") to a function and a seniority.
//!
//! Scoring and routing need two coarse facts about a person, not their exact title: which part of
//! the company they work in ([`Function`]) and how senior they are ([`Seniority`]). Both are typed
//! values with stable snake_case codes, so a scoring rule or a stored lead can name them.
//!
//! The vocabulary is data, not code: [`VOCABULARY`] below is one table of (words, effect) rows in
//! English, German and French, indexed once, on first use, into a sorted table searched by
//! bisection. It is a Rust table rather than an embedded file because each effect is a pair of
//! typed values that the compiler checks; a file would need its own parser and its own errors.
//!
//! # How a title is read
//!
//! 1. The input is folded: lowercase, Latin accents removed ("Ingénieur" is "ingenieur"), and cut
//!    into words at anything that is not a letter or digit ("Co-Founder" is "co founder", "Sr." is
//!    "sr"). Matching is by whole words only, so "intern" never matches inside "international",
//!    nor "cto" inside "doctor".
//! 2. From the left, the longest phrase of the vocabulary (up to four words) that starts at the
//!    current word is taken, and its words are used up: "Product Marketing Manager" reads "product
//!    marketing" (marketing) then "manager", never "product" alone. Unknown words ("of", "the",
//!    "EMEA", "Acme") are skipped.
//! 3. A German compound that is no word of the vocabulary is split into a known first part and a
//!    known head: "Vertriebsleiter" is "vertrieb(s)" (sales) + "leiter" (director). Only heads in
//!    [`COMPOUND_HEADS`] and first parts in [`COMPOUND_STEMS`] or the vocabulary count, so an
//!    unrelated word ("Begleiter") stays unknown.
//! 4. Reading stops at the word "to": in "Executive Assistant to the CEO" the CEO is whom the
//!    person supports, not what they are.
//!
//! # Precedence
//!
//! - **Seniority:** the most senior word wins, in the order student > C-level > VP > director >
//!   manager > individual contributor. Student is first because an intern is an intern whatever
//!   the team: "Marketing Intern" and "Product Manager Intern" are students. "Senior Director" is a
//!   director, "Assistant Manager" a manager, "Executive Vice President" a VP. A title with no
//!   seniority word ("Marketing", "Sales and Partnerships") is [`Seniority::Unknown`].
//! - **Function:** every word with a function has a strength: *generic* (engineer, developer,
//!   software, operations, analyst, founder, project manager…), *domain* (sales, marketing,
//!   finance, data, product…) or *role* (words and phrases that define the job whatever qualifies
//!   them: designer, recruiter, accountant, "sales engineer", "product marketing", DevOps, SRE,
//!   security, and the C-level acronyms). The strongest wins; between equals the first wins, as in
//!   "Sales and Marketing Director" (sales). So "VP of Engineering" is engineering, "Data Engineer"
//!   is data (domain beats generic engineer), "Marketing Operations Manager" is marketing,
//!   "Product Designer" is design, "Engineering Program Manager" is engineering. No function word
//!   at all is [`Function::Other`].
//!
//! # Decisions
//!
//! - Founder, co-founder, owner, president, CEO, managing director, general manager, executive
//!   director, chairman, board member, Geschäftsführer, PDG, gérant: C-level, function executive.
//!   A Chief X Officer is C-level in X ("CMO" is marketing); "Chief Executive" is executive.
//! - "Partner" is C-level when it opens the title ("Partner", "Partner, Acme Law") or after
//!   managing, senior, general, founding or equity; after any other word it names a supporting role
//!   and is an individual contributor ("HR Business Partner", "Talent Acquisition Partner").
//!   "Partner Manager" and the like are partnership (sales) roles.
//! - "Head of X", Leiter, directeur, directrice: director. Lead, team lead, supervisor,
//!   responsable, Teamleiter, chef de projet: manager. "General Counsel" is legal, director.
//! - Senior, Sr., Principal, Staff, Junior, Associate, Specialist, engineer, analyst,
//!   representative, officer, executive (as in "Sales Executive"): individual contributor.
//!   "Account Executive", "Account Manager" and "Product Owner" are individual contributors.
//! - "Sales Engineer", "Solutions Engineer" and pre-sales are **sales**: they carry a number and
//!   are routed with the sales team. "ML Engineer" and "Data Engineer" are **data**.
//! - "Sales Operations" is sales and "Marketing Ops" marketing (the domain beats the generic
//!   "operations"); RevOps (revenue operations) spans sales, marketing and success, so it is
//!   **operations**. "People Operations" is human resources.
//! - "PhD" alone is a degree ("Data Scientist, PhD"), not a student; "PhD candidate" and "PhD
//!   student" are students. Student words carry no function: "Student" is other/student.
//! - Input longer than [`MAX_INPUT_BYTES`] is refused (other/unknown) before any work: no title
//!   is that long, and the refusal keeps the work per call bounded on hostile input.

use std::sync::OnceLock;

use serde::Serialize;

/// Longer input is refused before any work (see the module documentation).
pub const MAX_INPUT_BYTES: usize = 200;

/// The longest phrase of the vocabulary, in words.
const MAX_PHRASE_WORDS: usize = 4;

/// The part of the company a person works in. The codes ([`Function::as_str`], and the serde
/// form) are a contract: never renamed, only added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// Founders, owners, the CEO, general management.
    Executive,
    Sales,
    Marketing,
    Engineering,
    /// Data science, analytics, machine learning, business intelligence.
    Data,
    Product,
    Design,
    /// Operations, administration, project and program management, procurement, RevOps.
    Operations,
    Finance,
    HumanResources,
    /// Legal and compliance.
    Legal,
    /// Customer support and customer success.
    Support,
    /// Internal IT: systems, networks, help desk.
    It,
    Security,
    /// Teaching and academia.
    Education,
    /// No known function word.
    Other,
}

impl Function {
    /// Every function, in declaration order.
    pub const ALL: [Function; 16] = [
        Function::Executive,
        Function::Sales,
        Function::Marketing,
        Function::Engineering,
        Function::Data,
        Function::Product,
        Function::Design,
        Function::Operations,
        Function::Finance,
        Function::HumanResources,
        Function::Legal,
        Function::Support,
        Function::It,
        Function::Security,
        Function::Education,
        Function::Other,
    ];

    /// The stable code, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Executive => "executive",
            Function::Sales => "sales",
            Function::Marketing => "marketing",
            Function::Engineering => "engineering",
            Function::Data => "data",
            Function::Product => "product",
            Function::Design => "design",
            Function::Operations => "operations",
            Function::Finance => "finance",
            Function::HumanResources => "human_resources",
            Function::Legal => "legal",
            Function::Support => "support",
            Function::It => "it",
            Function::Security => "security",
            Function::Education => "education",
            Function::Other => "other",
        }
    }
}

/// How senior a person is. The codes ([`Seniority::as_str`], and the serde form) are a contract:
/// never renamed, only added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    /// Chief officers, founders, owners, presidents, managing directors, partners.
    CLevel,
    /// Vice presidents of every kind (EVP, SVP, AVP).
    Vp,
    /// Directors and heads of a function.
    Director,
    /// Managers and leads of a team.
    Manager,
    /// Individual contributors, junior to principal.
    Individual,
    /// Students, interns, trainees, apprentices, PhD candidates.
    Student,
    /// No seniority word.
    Unknown,
}

impl Seniority {
    /// Every seniority, in declaration order.
    pub const ALL: [Seniority; 7] = [
        Seniority::CLevel,
        Seniority::Vp,
        Seniority::Director,
        Seniority::Manager,
        Seniority::Individual,
        Seniority::Student,
        Seniority::Unknown,
    ];

    /// The stable code, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Seniority::CLevel => "c_level",
            Seniority::Vp => "vp",
            Seniority::Director => "director",
            Seniority::Manager => "manager",
            Seniority::Individual => "individual",
            Seniority::Student => "student",
            Seniority::Unknown => "unknown",
        }
    }

    /// Which of two seniority words wins: the higher (see "Precedence" above).
    fn precedence(self) -> u8 {
        match self {
            Seniority::Student => 6,
            Seniority::CLevel => 5,
            Seniority::Vp => 4,
            Seniority::Director => 3,
            Seniority::Manager => 2,
            Seniority::Individual => 1,
            Seniority::Unknown => 0,
        }
    }
}

/// What a job title says about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Title {
    pub function: Function,
    pub seniority: Seniority,
}

impl Title {
    /// What an empty, unknown or refused title says: nothing.
    pub const UNKNOWN: Title = Title {
        function: Function::Other,
        seniority: Seniority::Unknown,
    };
}

/// The function and seniority of a free-text job title, in English, German or French. Never
/// fails: a title without known words is [`Title::UNKNOWN`], as is input over
/// [`MAX_INPUT_BYTES`].
pub fn classify(raw: &str) -> Title {
    if raw.len() > MAX_INPUT_BYTES {
        return Title::UNKNOWN;
    }
    let words = fold_words(raw);
    let index = index();
    let mut reading = Reading::default();
    let mut key = String::with_capacity(raw.len() + 8);
    let mut at = 0;
    while let Some(word) = words.get(at) {
        if STOP_WORDS.contains(&word.as_str()) {
            break;
        }
        let longest = MAX_PHRASE_WORDS.min(words.len() - at);
        let found = (1..=longest).rev().find_map(|n| {
            let phrase = words.get(at..at + n)?;
            key.clear();
            for (i, w) in phrase.iter().enumerate() {
                if i > 0 {
                    key.push(' ');
                }
                key.push_str(w);
            }
            index.get(&key).map(|effect| (n, effect))
        });
        match found {
            Some((n, effect)) => {
                reading.apply(effect, at == 0);
                at += n;
            }
            None => {
                if let Some((stem, head)) = split_compound(word, index) {
                    reading.apply(stem, false);
                    reading.apply(head, at == 0);
                }
                at += 1;
            }
        }
    }
    Title {
        function: reading.function.map_or(Function::Other, |(_, f)| f),
        seniority: reading.seniority,
    }
}

/// Words after which the rest of a title describes someone else ("Assistant to the CEO").
const STOP_WORDS: &[&str] = &["to"];

/// What the words read so far say.
#[derive(Debug)]
struct Reading {
    /// The strongest function so far, with its strength.
    function: Option<(u8, Function)>,
    seniority: Seniority,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            function: None,
            seniority: Seniority::Unknown,
        }
    }
}

impl Reading {
    fn apply(&mut self, effect: Effect, first: bool) {
        if let Some(function) = effect.function {
            // Strictly stronger only: between equals the first word wins.
            if self
                .function
                .is_none_or(|(strength, _)| effect.strength > strength)
            {
                self.function = Some((effect.strength, function));
            }
        }
        let seniority = match (first, effect.first) {
            (true, Some(leading)) => Some(leading),
            _ => effect.seniority,
        };
        if let Some(seniority) = seniority {
            if seniority.precedence() > self.seniority.precedence() {
                self.seniority = seniority;
            }
        }
    }
}

/// What one word or phrase of the vocabulary says.
#[derive(Debug, Clone, Copy)]
struct Effect {
    function: Option<Function>,
    /// [`GENERIC`], [`DOMAIN`] or [`ROLE`]; meaningless without a function.
    strength: u8,
    seniority: Option<Seniority>,
    /// The seniority instead when the word opens the title ("Partner").
    first: Option<Seniority>,
}

/// Function strengths (see "Precedence" in the module documentation).
const GENERIC: u8 = 1;
const DOMAIN: u8 = 2;
const ROLE: u8 = 3;

const fn effect(function: Option<Function>, strength: u8) -> Effect {
    Effect {
        function,
        strength,
        seniority: None,
        first: None,
    }
}

/// A generic function word: anything more specific wins over it.
const fn generic(function: Function) -> Effect {
    effect(Some(function), GENERIC)
}

/// A domain word: the function of a department.
const fn domain(function: Function) -> Effect {
    effect(Some(function), DOMAIN)
}

/// A word or phrase that defines the job whatever qualifies it.
const fn role(function: Function) -> Effect {
    effect(Some(function), ROLE)
}

/// A seniority word without a function.
const fn rank(seniority: Seniority) -> Effect {
    effect(None, 0).at(seniority)
}

impl Effect {
    const fn at(mut self, seniority: Seniority) -> Effect {
        self.seniority = Some(seniority);
        self
    }

    const fn when_first(mut self, seniority: Seniority) -> Effect {
        self.first = Some(seniority);
        self
    }
}

/// The vocabulary: folded words (lowercase, no accents, single spaces) and what they say. Keys
/// are unique (a unit test checks it); a phrase is matched before its words.
#[rustfmt::skip]
const VOCABULARY: &[(&str, Effect)] = {
    use Function::*;
    use Seniority::*;
    &[
        // Seniority alone.
        ("vice president", rank(Vp)), ("v p", rank(Vp)), ("vp", rank(Vp)), ("svp", rank(Vp)),
        ("evp", rank(Vp)), ("avp", rank(Vp)), ("vps", rank(Vp)),
        ("chief", rank(CLevel)), ("c level", generic(Executive).at(CLevel)),
        ("c suite", generic(Executive).at(CLevel)),
        ("director", rank(Director)), ("dir", rank(Director)), ("directors", rank(Director)),
        ("head", rank(Director)), ("associate director", rank(Director)),
        ("manager", rank(Manager)), ("mgr", rank(Manager)), ("managers", rank(Manager)),
        ("lead", rank(Manager)), ("team lead", rank(Manager)), ("leader", rank(Manager)),
        ("team leader", rank(Manager)), ("supervisor", rank(Manager)), ("foreman", rank(Manager)),
        ("senior", rank(Individual)), ("sr", rank(Individual)), ("snr", rank(Individual)),
        ("junior", rank(Individual)), ("jr", rank(Individual)), ("principal", rank(Individual)),
        ("staff", rank(Individual)), ("associate", rank(Individual)),
        ("specialist", rank(Individual)), ("representative", rank(Individual)),
        ("rep", rank(Individual)), ("coordinator", rank(Individual)),
        ("assistant", rank(Individual)), ("officer", rank(Individual)),
        ("executive", rank(Individual)), ("consultant", rank(Individual)),
        ("advisor", rank(Individual)), ("adviser", rank(Individual)),
        ("expert", rank(Individual)), ("professional", rank(Individual)),
        ("technician", rank(Individual)), ("writer", rank(Individual)),
        ("agent", rank(Individual)), ("clerk", rank(Individual)), ("i", rank(Individual)),
        ("ii", rank(Individual)), ("iii", rank(Individual)), ("iv", rank(Individual)),
        ("freelancer", rank(Individual)), ("freelance", rank(Individual)),
        ("contractor", rank(Individual)), ("employee", rank(Individual)),
        ("worker", rank(Individual)), ("scientist", generic(Data).at(Individual)),
        // Students.
        ("student", rank(Student)), ("students", rank(Student)), ("intern", rank(Student)),
        ("internship", rank(Student)), ("trainee", rank(Student)), ("apprentice", rank(Student)),
        ("working student", rank(Student)), ("phd candidate", rank(Student)),
        ("phd student", rank(Student)), ("phd researcher", rank(Student)),
        ("doctoral candidate", rank(Student)), ("doctoral student", rank(Student)),
        ("undergraduate", rank(Student)), ("co op", rank(Student)), ("graduate student", rank(Student)),
        // The top: executive function, C-level.
        ("ceo", role(Executive).at(CLevel)), ("c e o", role(Executive).at(CLevel)),
        ("chief executive", role(Executive).at(CLevel)),
        ("founder", generic(Executive).at(CLevel)), ("co founder", generic(Executive).at(CLevel)),
        ("cofounder", generic(Executive).at(CLevel)), ("founders", generic(Executive).at(CLevel)),
        ("owner", generic(Executive).at(CLevel)), ("co owner", generic(Executive).at(CLevel)),
        ("business owner", generic(Executive).at(CLevel)),
        ("president", generic(Executive).at(CLevel)),
        ("managing director", generic(Executive).at(CLevel)),
        ("general manager", generic(Executive).at(CLevel)), ("gm", generic(Executive).at(CLevel)),
        ("executive director", generic(Executive).at(CLevel)),
        ("non executive director", generic(Executive).at(CLevel)),
        ("chairman", generic(Executive).at(CLevel)), ("chairwoman", generic(Executive).at(CLevel)),
        ("chairperson", generic(Executive).at(CLevel)),
        ("board member", generic(Executive).at(CLevel)),
        ("chief of staff", generic(Executive).at(Director)),
        ("entrepreneur", generic(Executive).at(CLevel)),
        ("proprietor", generic(Executive).at(CLevel)),
        ("partner", generic(Executive).at(Individual).when_first(CLevel)),
        ("managing partner", generic(Executive).at(CLevel)),
        ("senior partner", generic(Executive).at(CLevel)),
        ("general partner", generic(Executive).at(CLevel)),
        ("founding partner", generic(Executive).at(CLevel)),
        ("equity partner", generic(Executive).at(CLevel)),
        ("business partner", rank(Individual)), ("partners", generic(Executive).at(CLevel)),
        // The other chiefs: the function of the office, C-level.
        ("cto", role(Engineering).at(CLevel)), ("cfo", role(Finance).at(CLevel)),
        ("cmo", role(Marketing).at(CLevel)), ("cro", role(Sales).at(CLevel)),
        ("coo", role(Operations).at(CLevel)), ("cio", role(It).at(CLevel)),
        ("ciso", role(Security).at(CLevel)), ("cso", role(Security).at(CLevel)),
        ("cpo", role(Product).at(CLevel)), ("cdo", role(Data).at(CLevel)),
        ("chro", role(HumanResources).at(CLevel)), ("cco", role(Sales).at(CLevel)),
        ("clo", role(Legal).at(CLevel)), ("cao", role(Finance).at(CLevel)),
        ("cdao", role(Data).at(CLevel)), ("cpto", role(Product).at(CLevel)),
        // Sales.
        ("sales", domain(Sales)), ("sale", domain(Sales)), ("selling", domain(Sales)),
        ("revenue", domain(Sales)), ("commercial", domain(Sales)),
        ("business development", domain(Sales)), ("bizdev", domain(Sales)),
        ("biz dev", domain(Sales)), ("bd", domain(Sales)),
        ("account executive", role(Sales).at(Individual)),
        ("account executives", role(Sales).at(Individual)),
        ("account manager", role(Sales).at(Individual)),
        ("account management", domain(Sales)), ("accounts", domain(Sales)),
        ("ae", role(Sales).at(Individual)), ("sdr", role(Sales).at(Individual)),
        ("bdr", role(Sales).at(Individual)), ("adr", role(Sales).at(Individual)),
        ("sales development", domain(Sales)), ("inside sales", domain(Sales)),
        ("sales engineer", role(Sales).at(Individual)),
        ("sales engineering", role(Sales)),
        ("solutions engineer", role(Sales).at(Individual)),
        ("solution engineer", role(Sales).at(Individual)),
        ("solutions consultant", role(Sales).at(Individual)),
        ("presales", role(Sales)), ("pre sales", role(Sales)),
        ("salesperson", role(Sales).at(Individual)), ("salesman", role(Sales).at(Individual)),
        ("saleswoman", role(Sales).at(Individual)),
        ("partnerships", domain(Sales)), ("partnership", domain(Sales)),
        ("alliances", domain(Sales)), ("channel", generic(Sales)),
        ("partner manager", domain(Sales).at(Manager)),
        ("partner account manager", role(Sales).at(Individual)),
        ("partner sales", domain(Sales)), ("partner development", domain(Sales)),
        ("partner success", domain(Support)), ("partner engineer", role(Sales).at(Individual)),
        ("partner marketing", role(Marketing)),
        ("account director", domain(Sales).at(Director)),
        ("enterprise sales", domain(Sales)),
        ("vertrieb", domain(Sales)), ("vertriebs", domain(Sales)), ("verkauf", domain(Sales)),
        ("verkaufer", role(Sales).at(Individual)), ("verkaeufer", role(Sales).at(Individual)),
        ("aussendienst", domain(Sales)), ("innendienst", domain(Sales)),
        ("commerciale", domain(Sales)), ("ventes", domain(Sales)), ("vente", domain(Sales)),
        ("charge d affaires", role(Sales).at(Individual)),
        ("chargee d affaires", role(Sales).at(Individual)),
        ("ingenieur d affaires", role(Sales).at(Individual)),
        ("chef des ventes", domain(Sales).at(Manager)),
        // Marketing.
        ("marketing", domain(Marketing)), ("mktg", domain(Marketing)),
        ("marketer", role(Marketing).at(Individual)), ("growth", domain(Marketing)),
        ("growth hacker", role(Marketing).at(Individual)),
        ("demand gen", domain(Marketing)), ("demand generation", domain(Marketing)),
        ("lead generation", domain(Marketing)), ("lead gen", domain(Marketing)),
        ("brand", domain(Marketing)), ("branding", domain(Marketing)),
        ("content", domain(Marketing)), ("seo", domain(Marketing)), ("sem", domain(Marketing)),
        ("ppc", domain(Marketing)), ("communications", domain(Marketing)),
        ("communication", domain(Marketing)), ("comms", domain(Marketing)),
        ("pr", domain(Marketing)), ("public relations", domain(Marketing)),
        ("social media", domain(Marketing)), ("community", domain(Marketing)),
        ("copywriter", role(Marketing).at(Individual)), ("advertising", domain(Marketing)),
        ("campaign", domain(Marketing)), ("campaigns", domain(Marketing)),
        ("events", domain(Marketing)), ("digital", generic(Marketing)),
        ("product marketing", role(Marketing)), ("field marketing", role(Marketing)),
        ("market research", role(Marketing)), ("lifecycle", domain(Marketing)),
        ("marketing operations", domain(Marketing)), ("mops", domain(Marketing)),
        ("media buyer", role(Marketing).at(Individual)),
        ("werbung", domain(Marketing)),
        // Engineering.
        ("engineer", generic(Engineering).at(Individual)),
        ("engineers", generic(Engineering).at(Individual)),
        ("engineering", generic(Engineering)), ("eng", generic(Engineering)),
        ("engr", generic(Engineering).at(Individual)),
        ("developer", generic(Engineering).at(Individual)),
        ("dev", generic(Engineering)), ("development", generic(Engineering)),
        ("programmer", generic(Engineering).at(Individual)),
        ("coder", generic(Engineering).at(Individual)),
        ("software", generic(Engineering)), ("swe", generic(Engineering).at(Individual)),
        ("sde", generic(Engineering).at(Individual)),
        ("technology", generic(Engineering)), ("technical", generic(Engineering)),
        ("tech", generic(Engineering)), ("architect", generic(Engineering).at(Individual)),
        ("frontend", generic(Engineering)), ("front end", generic(Engineering)),
        ("backend", generic(Engineering)), ("back end", generic(Engineering)),
        ("full stack", generic(Engineering)), ("fullstack", generic(Engineering)),
        ("web", generic(Engineering)), ("mobile", generic(Engineering)),
        ("ios", generic(Engineering)), ("android", generic(Engineering)),
        ("embedded", generic(Engineering)), ("firmware", generic(Engineering)),
        ("hardware", generic(Engineering)), ("platform", generic(Engineering)),
        ("infrastructure", generic(Engineering)), ("cloud", generic(Engineering)),
        ("r d", generic(Engineering)),
        ("devops", role(Engineering)), ("dev ops", role(Engineering)),
        ("sre", role(Engineering).at(Individual)), ("site reliability", role(Engineering)),
        ("qa", domain(Engineering)), ("quality assurance", domain(Engineering)),
        ("test engineer", role(Engineering).at(Individual)),
        ("tester", role(Engineering).at(Individual)),
        ("product engineer", role(Engineering).at(Individual)),
        ("mechanical", generic(Engineering)), ("electrical", generic(Engineering)),
        ("entwickler", generic(Engineering).at(Individual)),
        ("entwicklerin", generic(Engineering).at(Individual)),
        ("entwicklung", generic(Engineering)),
        ("ingenieur", generic(Engineering).at(Individual)),
        ("ingenieurin", generic(Engineering).at(Individual)),
        ("architekt", generic(Engineering).at(Individual)),
        ("informatiker", generic(Engineering).at(Individual)),
        ("informatikerin", generic(Engineering).at(Individual)),
        ("developpeur", generic(Engineering).at(Individual)),
        ("developpeuse", generic(Engineering).at(Individual)),
        ("technique", generic(Engineering)), ("technik", generic(Engineering)),
        // Data.
        ("data", domain(Data)), ("analytics", domain(Data)), ("analyst", generic(Data).at(Individual)),
        ("data scientist", role(Data).at(Individual)), ("data science", role(Data)),
        ("ml", domain(Data)), ("ai", domain(Data)), ("machine learning", domain(Data)),
        ("artificial intelligence", domain(Data)), ("mlops", domain(Data)),
        ("bi", domain(Data)), ("business intelligence", domain(Data)),
        ("business analyst", domain(Data).at(Individual)),
        ("statistician", role(Data).at(Individual)), ("insights", domain(Data)),
        ("analytique", domain(Data)), ("donnees", domain(Data)), ("daten", domain(Data)),
        // Product.
        ("product", domain(Product)), ("products", domain(Product)),
        ("product owner", domain(Product).at(Individual)), ("produkt", domain(Product)),
        ("produit", domain(Product)), ("chef de produit", domain(Product).at(Manager)),
        // Design.
        ("design", domain(Design)), ("designer", role(Design).at(Individual)),
        ("ux", domain(Design)), ("ui", domain(Design)), ("user experience", domain(Design)),
        ("user research", role(Design)), ("ux researcher", role(Design).at(Individual)),
        ("creative", domain(Design)), ("art", domain(Design)), ("graphic", domain(Design)),
        ("illustrator", role(Design).at(Individual)), ("art director", role(Design).at(Director)),
        ("creative director", role(Design).at(Director)),
        // Operations.
        ("operations", generic(Operations)), ("ops", generic(Operations)),
        ("operating", generic(Operations)), ("operational", generic(Operations)),
        ("revops", role(Operations)), ("rev ops", role(Operations)),
        ("revenue operations", role(Operations)),
        ("business operations", domain(Operations)), ("bizops", domain(Operations)),
        ("project manager", generic(Operations).at(Manager)),
        ("program manager", generic(Operations).at(Manager)),
        ("programme manager", generic(Operations).at(Manager)),
        ("project management", generic(Operations)), ("pmo", generic(Operations)),
        ("office manager", domain(Operations).at(Manager)),
        ("executive assistant", role(Operations).at(Individual)),
        ("personal assistant", role(Operations).at(Individual)),
        ("administrative", domain(Operations)), ("administration", domain(Operations)),
        ("admin", generic(Operations)), ("logistics", domain(Operations)),
        ("supply chain", domain(Operations)), ("procurement", domain(Operations)),
        ("purchasing", domain(Operations)), ("buyer", domain(Operations).at(Individual)),
        ("facilities", domain(Operations)), ("business", generic(Operations)),
        ("strategy", generic(Operations)), ("projektleiter", generic(Operations).at(Manager)),
        ("projektleiterin", generic(Operations).at(Manager)),
        ("projektmanager", generic(Operations).at(Manager)),
        ("einkauf", domain(Operations)), ("logistik", domain(Operations)),
        ("sachbearbeiter", generic(Operations).at(Individual)),
        ("sachbearbeiterin", generic(Operations).at(Individual)),
        ("chef de projet", generic(Operations).at(Manager)),
        ("cheffe de projet", generic(Operations).at(Manager)),
        ("achats", domain(Operations)),
        // Finance.
        ("finance", domain(Finance)), ("financial", domain(Finance)),
        ("accountant", role(Finance).at(Individual)), ("accounting", domain(Finance)),
        ("controller", domain(Finance).at(Individual)), ("controlling", domain(Finance)),
        ("comptroller", domain(Finance)), ("audit", domain(Finance)),
        ("auditor", role(Finance).at(Individual)), ("treasury", domain(Finance)),
        ("treasurer", role(Finance)), ("tax", domain(Finance)), ("payroll", domain(Finance)),
        ("bookkeeper", role(Finance).at(Individual)), ("fp a", domain(Finance)),
        ("fpa", domain(Finance)), ("finanzen", domain(Finance)), ("finanz", domain(Finance)),
        ("buchhaltung", domain(Finance)), ("buchhalter", role(Finance).at(Individual)),
        ("buchhalterin", role(Finance).at(Individual)), ("comptable", role(Finance).at(Individual)),
        ("comptabilite", domain(Finance)), ("financier", domain(Finance)),
        ("financiere", domain(Finance)), ("daf", role(Finance).at(Director)),
        // Human resources.
        ("hr", domain(HumanResources)), ("human resources", domain(HumanResources)),
        ("people", domain(HumanResources)), ("people operations", role(HumanResources)),
        ("people ops", role(HumanResources)), ("talent", domain(HumanResources)),
        ("talent acquisition", role(HumanResources)), ("hrbp", role(HumanResources).at(Individual)),
        ("recruiter", role(HumanResources).at(Individual)),
        ("recruiting", domain(HumanResources)), ("recruitment", domain(HumanResources)),
        ("student recruiter", role(HumanResources).at(Individual)),
        ("campus recruiter", role(HumanResources).at(Individual)),
        ("sourcer", role(HumanResources).at(Individual)),
        ("headhunter", role(HumanResources).at(Individual)),
        ("personnel", domain(HumanResources)), ("learning and development", domain(HumanResources)),
        ("rh", domain(HumanResources)), ("ressources humaines", domain(HumanResources)),
        ("drh", role(HumanResources).at(Director)), ("personalabteilung", domain(HumanResources)),
        ("personalwesen", domain(HumanResources)),
        // Legal.
        ("legal", domain(Legal)), ("counsel", role(Legal).at(Individual)),
        ("general counsel", role(Legal).at(Director)), ("lawyer", role(Legal).at(Individual)),
        ("attorney", role(Legal).at(Individual)), ("solicitor", role(Legal).at(Individual)),
        ("paralegal", role(Legal).at(Individual)), ("compliance", domain(Legal)),
        ("privacy", domain(Legal)), ("data protection", role(Legal)),
        ("contracts", domain(Legal)), ("juriste", role(Legal).at(Individual)),
        ("avocat", role(Legal).at(Individual)), ("avocate", role(Legal).at(Individual)),
        ("juridique", domain(Legal)), ("recht", domain(Legal)),
        ("rechtsanwalt", role(Legal).at(Individual)), ("rechtsanwaltin", role(Legal).at(Individual)),
        ("justiziar", role(Legal).at(Individual)), ("jurist", role(Legal).at(Individual)),
        ("juristin", role(Legal).at(Individual)),
        // Support and customer success.
        ("support", domain(Support)), ("customer success", domain(Support)),
        ("customer service", domain(Support)), ("customer care", domain(Support)),
        ("customer experience", domain(Support)), ("cx", domain(Support)),
        ("customer", generic(Support)), ("customers", generic(Support)),
        ("client", generic(Support)), ("onboarding", domain(Support)),
        ("implementation", generic(Support)), ("csm", domain(Support).at(Manager)),
        ("kundenservice", domain(Support)), ("kundendienst", domain(Support)),
        ("kunden", generic(Support)), ("service client", domain(Support)),
        ("relation client", domain(Support)),
        // Internal IT.
        ("it", domain(It)), ("information technology", domain(It)),
        ("information", generic(It)), ("systems", generic(It)),
        ("sysadmin", role(It).at(Individual)), ("system administrator", role(It).at(Individual)),
        ("systems administrator", role(It).at(Individual)),
        ("network", domain(It)), ("helpdesk", role(It)), ("help desk", role(It)),
        ("service desk", role(It)), ("desktop support", role(It)), ("it support", role(It)),
        ("informatique", domain(It)), ("dsi", role(It).at(Director)), ("edv", domain(It)),
        ("systemadministrator", role(It).at(Individual)),
        ("fachinformatiker", role(It).at(Individual)),
        // Security.
        ("security", role(Security)), ("cybersecurity", role(Security)),
        ("cyber", role(Security)), ("infosec", role(Security)),
        ("information security", role(Security)), ("appsec", role(Security)),
        ("pentester", role(Security).at(Individual)),
        ("penetration tester", role(Security).at(Individual)),
        ("soc", role(Security)), ("sicherheit", role(Security)), ("securite", role(Security)),
        // Education.
        ("teacher", role(Education).at(Individual)), ("professor", role(Education).at(Individual)),
        ("lecturer", role(Education).at(Individual)), ("instructor", role(Education).at(Individual)),
        ("tutor", role(Education).at(Individual)), ("dean", role(Education).at(Director)),
        ("postdoc", role(Education).at(Individual)),
        ("postdoctoral", role(Education).at(Individual)),
        ("research assistant", domain(Education).at(Individual)),
        ("school", generic(Education)), ("university", generic(Education)),
        ("lehrer", role(Education).at(Individual)), ("lehrerin", role(Education).at(Individual)),
        ("dozent", role(Education).at(Individual)), ("dozentin", role(Education).at(Individual)),
        ("enseignant", role(Education).at(Individual)),
        ("enseignante", role(Education).at(Individual)),
        ("professeur", role(Education).at(Individual)),
        // German: the top, heads and students.
        ("geschaftsfuhrer", generic(Executive).at(CLevel)),
        ("geschaeftsfuehrer", generic(Executive).at(CLevel)),
        ("geschaftsfuhrerin", generic(Executive).at(CLevel)),
        ("geschaeftsfuehrerin", generic(Executive).at(CLevel)),
        ("geschaftsfuhrung", generic(Executive).at(CLevel)),
        ("geschaeftsfuehrung", generic(Executive).at(CLevel)),
        ("inhaber", generic(Executive).at(CLevel)), ("inhaberin", generic(Executive).at(CLevel)),
        ("grunder", generic(Executive).at(CLevel)), ("gruender", generic(Executive).at(CLevel)),
        ("grunderin", generic(Executive).at(CLevel)), ("gruenderin", generic(Executive).at(CLevel)),
        ("mitgrunder", generic(Executive).at(CLevel)), ("mitgruender", generic(Executive).at(CLevel)),
        ("vorstand", generic(Executive).at(CLevel)),
        ("vorstandsvorsitzender", generic(Executive).at(CLevel)),
        ("prokurist", rank(Director)), ("prokuristin", rank(Director)),
        ("leiter", rank(Director)), ("leiterin", rank(Director)), ("leitung", rank(Director)),
        ("direktor", rank(Director)), ("direktorin", rank(Director)),
        ("teamleiter", rank(Manager)), ("teamleiterin", rank(Manager)),
        ("teamleitung", rank(Manager)), ("gruppenleiter", rank(Manager)),
        ("gruppenleiterin", rank(Manager)),
        ("mitarbeiter", rank(Individual)), ("mitarbeiterin", rank(Individual)),
        ("referent", rank(Individual)), ("referentin", rank(Individual)),
        ("berater", rank(Individual)), ("beraterin", rank(Individual)),
        ("assistent", rank(Individual)), ("assistentin", rank(Individual)), ("assistenz", rank(Individual)),
        ("spezialist", rank(Individual)), ("spezialistin", rank(Individual)),
        ("kaufmann", rank(Individual)), ("kauffrau", rank(Individual)),
        ("managerin", rank(Manager)), ("analystin", generic(Data).at(Individual)),
        ("werkstudent", rank(Student)), ("werkstudentin", rank(Student)),
        ("studentin", rank(Student)), ("praktikant", rank(Student)),
        ("praktikantin", rank(Student)), ("praktikum", rank(Student)),
        ("azubi", rank(Student)), ("auszubildender", rank(Student)),
        ("auszubildende", rank(Student)), ("doktorand", rank(Student)),
        ("doktorandin", rank(Student)),
        // French: the top, heads and students.
        ("pdg", generic(Executive).at(CLevel)), ("dg", generic(Executive).at(CLevel)),
        ("directeur general", generic(Executive).at(CLevel)),
        ("directrice generale", generic(Executive).at(CLevel)),
        ("president directeur general", generic(Executive).at(CLevel)),
        ("presidente", generic(Executive).at(CLevel)),
        ("gerant", generic(Executive).at(CLevel)), ("gerante", generic(Executive).at(CLevel)),
        ("fondateur", generic(Executive).at(CLevel)), ("fondatrice", generic(Executive).at(CLevel)),
        ("cofondateur", generic(Executive).at(CLevel)),
        ("co fondateur", generic(Executive).at(CLevel)),
        ("cofondatrice", generic(Executive).at(CLevel)),
        ("co fondatrice", generic(Executive).at(CLevel)),
        ("directeur", rank(Director)), ("directrice", rank(Director)),
        ("responsable", rank(Manager)), ("chef d equipe", rank(Manager)),
        ("chef de service", rank(Manager)), ("cheffe d equipe", rank(Manager)),
        ("charge", rank(Individual)), ("chargee", rank(Individual)),
        ("conseiller", rank(Individual)), ("conseillere", rank(Individual)),
        ("assistante", rank(Individual)), ("consultante", rank(Individual)),
        ("technicien", rank(Individual)), ("technicienne", rank(Individual)),
        ("stagiaire", rank(Student)), ("etudiant", rank(Student)), ("etudiante", rank(Student)),
        ("alternant", rank(Student)), ("alternante", rank(Student)),
        ("apprenti", rank(Student)), ("apprentie", rank(Student)),
        ("doctorant", rank(Student)), ("doctorante", rank(Student)),
    ]
};

/// The heads of German compounds ("Vertriebs|leiter", "Software|entwickler"); each is also a word
/// of [`VOCABULARY`], whose effect it brings.
const COMPOUND_HEADS: &[&str] = &[
    "leiter",
    "leiterin",
    "leitung",
    "entwickler",
    "entwicklerin",
    "ingenieur",
    "ingenieurin",
    "mitarbeiter",
    "mitarbeiterin",
    "referent",
    "referentin",
    "berater",
    "beraterin",
    "manager",
    "managerin",
    "assistent",
    "assistentin",
    "assistenz",
    "spezialist",
    "spezialistin",
    "analyst",
    "analystin",
    "architekt",
    "direktor",
    "direktorin",
    "buchhalter",
    "buchhalterin",
    "kaufmann",
    "kauffrau",
    "praktikant",
    "praktikantin",
    "werkstudent",
    "werkstudentin",
];

/// First parts of German compounds that are no word of their own in [`VOCABULARY`] (the
/// vocabulary's words count too: "Marketing|leiter").
#[rustfmt::skip]
const COMPOUND_STEMS: &[(&str, Effect)] = {
    use Function::*;
    &[
        ("abteilung", effect(None, 0)), ("bereich", effect(None, 0)),
        ("standort", effect(None, 0)), ("niederlassung", effect(None, 0)),
        ("personal", domain(HumanResources)), ("projekt", generic(Operations)),
        ("system", generic(It)), ("industrie", effect(None, 0)),
        ("it", domain(It)), ("finanz", domain(Finance)), ("daten", domain(Data)),
        ("kunden", generic(Support)), ("service", domain(Support)),
        ("software", generic(Engineering)), ("web", generic(Engineering)),
        ("sicherheit", role(Security)), ("rechts", domain(Legal)),
        ("einkauf", domain(Operations)), ("verkauf", domain(Sales)),
        ("vertrieb", domain(Sales)), ("export", domain(Sales)),
    ]
};

/// Splits an unknown German compound into the effects of its first part and its head, when both
/// are known. The first part may end in the linking "s" ("Vertriebs|leiter").
fn split_compound(word: &str, index: &Index) -> Option<(Effect, Effect)> {
    COMPOUND_HEADS.iter().find_map(|&head| {
        let stem = word.strip_suffix(head)?;
        if stem.len() < 2 {
            return None;
        }
        let head = index.get(head)?;
        let stem_effect = |s: &str| {
            COMPOUND_STEMS
                .iter()
                .find(|(k, _)| *k == s)
                .map(|&(_, e)| e)
                .or_else(|| index.get(s))
        };
        let stem = stem_effect(stem).or_else(|| stem.strip_suffix('s').and_then(stem_effect))?;
        Some((stem, head))
    })
}

/// The vocabulary sorted by key, searched by bisection.
#[derive(Debug)]
struct Index(Vec<(&'static str, Effect)>);

impl Index {
    fn get(&self, key: &str) -> Option<Effect> {
        let i = self.0.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        self.0.get(i).map(|&(_, e)| e)
    }
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut entries = VOCABULARY.to_vec();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        Index(entries)
    })
}

/// The folded words of `raw`: lowercase letters and digits, Latin accents removed, split at
/// everything else.
fn fold_words(raw: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for upper in raw.chars() {
        for c in upper.to_lowercase() {
            if let Some(plain) = crate::text::fold_latin(c, false) {
                word.push_str(plain);
            } else if c.is_alphanumeric() {
                word.push(c);
            } else if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_has_unique_folded_keys() {
        let mut keys: Vec<&str> = VOCABULARY.iter().map(|(k, _)| *k).collect();
        for key in &keys {
            let folded = fold_words(key).join(" ");
            assert_eq!(&folded, key, "a key must be folded words");
            assert!(key.split(' ').count() <= MAX_PHRASE_WORDS, "{key}");
        }
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is listed twice");
    }

    #[test]
    fn every_compound_head_is_a_word_and_stems_are_folded() {
        for head in COMPOUND_HEADS {
            assert!(index().get(head).is_some(), "{head}");
        }
        for (stem, _) in COMPOUND_STEMS {
            assert_eq!(fold_words(stem), [*stem], "{stem}");
        }
    }

    #[test]
    fn codes_are_what_serde_writes() {
        for f in Function::ALL {
            assert_eq!(
                serde_json::to_value(f).ok(),
                Some(serde_json::Value::from(f.as_str()))
            );
        }
        for s in Seniority::ALL {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
    }

    #[test]
    fn words_fold_case_accents_and_punctuation() {
        assert_eq!(
            fold_words("  Sr. Ingénieur, R&D / Co-Founder "),
            ["sr", "ingenieur", "r", "d", "co", "founder"]
        );
        assert_eq!(fold_words("Geschäftsführerin"), ["geschaftsfuhrerin"]);
        assert_eq!(fold_words("GROẞ"), ["gross"]);
    }
}

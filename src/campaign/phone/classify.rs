//! Number types from libphonenumber metadata. The crate looks each pattern up
//! in a locked LRU cache keyed by its source text on every call (most of the
//! cost of a parse); here each region's patterns are compiled once per
//! process, anchored for a full match as libphonenumber specifies.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use phonenumber::Type;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// What the metadata says about a national number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: Type,
    pub length: Length,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Possible,
    TooShort,
    TooLong,
    Invalid,
}

/// Metadata patterns are written across lines, with insignificant whitespace.
fn compile(source: &str) -> Option<Regex> {
    RegexBuilder::new(source)
        .ignore_whitespace(true)
        .build()
        .ok()
}

struct Pattern {
    re: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn new(descriptor: &Descriptor) -> Option<Pattern> {
        let source = descriptor.national_number().as_str();
        Some(Pattern {
            re: compile(&format!("^(?:{source})$"))?,
            lengths: descriptor.possible_length().to_vec(),
        })
    }

    fn is_match(&self, value: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(value.len() as u16)))
            && self.re.is_match(value)
    }
}

struct Region {
    leading: Option<Regex>,
    general: Option<Pattern>,
    /// Checked in libphonenumber's order; the first match names the type.
    special: Vec<(Type, Pattern)>,
    fixed: Option<Pattern>,
    mobile: Option<Pattern>,
    fixed_is_mobile: bool,
    lengths: Vec<u16>,
}

impl Region {
    fn new(meta: &Metadata) -> Region {
        let d = meta.descriptors();
        let special = [
            (Type::PremiumRate, d.premium_rate()),
            (Type::TollFree, d.toll_free()),
            (Type::SharedCost, d.shared_cost()),
            (Type::Voip, d.voip()),
            (Type::PersonalNumber, d.personal_number()),
            (Type::Pager, d.pager()),
            (Type::Uan, d.uan()),
            (Type::Voicemail, d.voicemail()),
        ];
        let source = |d: Option<&Descriptor>| d.map(|d| d.national_number().as_str().to_string());
        Region {
            leading: meta
                .leading_digits()
                .and_then(|re| compile(&format!("^(?:{})", re.as_str()))),
            general: Pattern::new(d.general()),
            special: special
                .into_iter()
                .filter_map(|(kind, d)| Some((kind, Pattern::new(d?)?)))
                .collect(),
            fixed: d.fixed_line().and_then(Pattern::new),
            mobile: d.mobile().and_then(Pattern::new),
            fixed_is_mobile: source(d.fixed_line()) == source(d.mobile()),
            lengths: d.general().possible_length().to_vec(),
        }
    }

    fn kind(&self, national: &str) -> Type {
        let matches = |p: &Option<Pattern>| p.as_ref().is_some_and(|p| p.is_match(national));
        if !matches(&self.general) {
            return Type::Unknown;
        }
        if let Some((kind, _)) = self.special.iter().find(|(_, p)| p.is_match(national)) {
            return *kind;
        }
        match (matches(&self.fixed), matches(&self.mobile)) {
            (true, mobile) if mobile || self.fixed_is_mobile => Type::FixedLineOrMobile,
            (true, _) => Type::FixedLine,
            (false, true) => Type::Mobile,
            (false, false) => Type::Unknown,
        }
    }

    fn length(&self, national: &str) -> Length {
        let len = national.len() as u16;
        match (self.lengths.first(), self.lengths.last()) {
            _ if self.lengths.contains(&len) => Length::Possible,
            (Some(&min), _) if len < min => Length::TooShort,
            (_, Some(&max)) if len > max => Length::TooLong,
            _ => Length::Invalid,
        }
    }
}

type Regions = Arc<Vec<Region>>;

fn regions(code: u16) -> Option<Regions> {
    static CACHE: OnceLock<RwLock<HashMap<u16, Regions>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.read().ok()?.get(&code) {
        return Some(found.clone());
    }
    let ids = DATABASE.region(&code)?;
    let metas: Vec<&Metadata> = if ids == ["001"] {
        DATABASE.by_code(&code)?
    } else {
        ids.iter().filter_map(|id| DATABASE.by_id(*id)).collect()
    };
    let built: Regions = Arc::new(metas.into_iter().map(Region::new).collect());
    cache.write().ok()?.insert(code, built.clone());
    Some(built)
}

/// Classifies `national` under country calling code `code`; `None` when the
/// code is unknown. Where several regions share a code, the region is chosen
/// as libphonenumber does: by leading digits, else by a matching type.
pub fn classify(code: u16, national: &str) -> Option<Classified> {
    let regions = regions(code)?;
    let first = regions.first()?;
    let chosen = if regions.len() == 1 {
        Some((first, first.kind(national)))
    } else {
        regions.iter().find_map(|r| match &r.leading {
            Some(leading) => leading.is_match(national).then(|| (r, r.kind(national))),
            None => Some((r, r.kind(national))).filter(|(_, kind)| *kind != Type::Unknown),
        })
    };
    let (region, kind) = chosen.unwrap_or((first, Type::Unknown));
    Some(Classified {
        kind,
        length: region.length(national),
    })
}

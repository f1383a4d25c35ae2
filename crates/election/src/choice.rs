//! A voter's choices as they are written on the command line, `CONTEST=OPTION[,OPTION...]`,
//! read against the manifest's contests into one [`Choice`] per contest.
//!
//! A contest is named by its number (from 1) or its title, a candidate by its number (from 1) or
//! its name, both without regard to case; options are in order of preference for preferential
//! contests; `blank` (or nothing) is a blank vote. The parser checks the names and the shape
//! (every contest chosen once, one candidate for a single choice); [`crate::ballot::cast`]
//! checks the rest of each contest's rule. The error messages name the `--choice` argument of
//! `tabella voter vote`, where these strings come from.

use crate::ballot::Choice;
use crate::error::Result;
use crate::manifest::{Contest, ContestKind};

/// Why a `CONTEST=OPTION[,OPTION...]` argument does not fit the contests.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    /// There is no `=` between the contest and the options.
    #[error("--choice {arg:?}: write CONTEST=OPTION, e.g. --choice 1=Ada")]
    Syntax {
        /// The argument as given.
        arg: String,
    },
    /// The contest number is out of range.
    #[error("--choice {arg:?}: there is no contest {number} (contests 1..={contests})")]
    NoContestNumbered {
        /// The argument as given.
        arg: String,
        /// The number given.
        number: usize,
        /// How many contests there are.
        contests: usize,
    },
    /// No contest has this title.
    #[error("--choice {arg:?}: no contest titled {title:?}")]
    NoContestTitled {
        /// The argument as given.
        arg: String,
        /// The title given.
        title: String,
    },
    /// An option is neither a candidate's number nor its name.
    #[error(
        "--choice {arg:?}: {option:?} is not a candidate of {contest:?} ({})",
        .candidates.join(", ")
    )]
    NotACandidate {
        /// The argument as given.
        arg: String,
        /// The option given.
        option: String,
        /// The contest's title.
        contest: String,
        /// The contest's candidates.
        candidates: Vec<String>,
    },
    /// A single-choice contest was given several candidates.
    #[error("--choice {arg:?}: {contest:?} takes one candidate")]
    OneCandidateOnly {
        /// The argument as given.
        arg: String,
        /// The contest's title.
        contest: String,
    },
    /// Two arguments choose in the same contest.
    #[error("contest {number} ({title:?}) is chosen twice")]
    ChosenTwice {
        /// The contest's number (from 1).
        number: usize,
        /// Its title.
        title: String,
    },
    /// A contest has no choice (a blank vote is written `N=blank`).
    #[error("no choice for contest {number} ({title:?}); add --choice {number}=OPTION")]
    Missing {
        /// The contest's number (from 1).
        number: usize,
        /// Its title.
        title: String,
    },
}

/// Parses `CONTEST=OPTION[,OPTION...]` arguments into one choice per contest, in the contests'
/// order. Errors are [`crate::Error::Choice`].
pub fn parse_choices(contests: &[Contest], args: &[String]) -> Result<Vec<Choice>> {
    let mut out: Vec<Option<Choice>> = vec![None; contests.len()];
    for arg in args {
        let (index, contest, choice) = parse_choice(contests, arg)?;
        if let Some(slot) = out.get_mut(index) {
            if slot.replace(choice).is_some() {
                return Err(ChoiceError::ChosenTwice {
                    number: index + 1,
                    title: contest.title.clone(),
                }
                .into());
            }
        }
    }
    out.into_iter()
        .zip(contests)
        .enumerate()
        .map(|(i, (choice, contest))| {
            choice.ok_or_else(|| {
                ChoiceError::Missing {
                    number: i + 1,
                    title: contest.title.clone(),
                }
                .into()
            })
        })
        .collect()
}

/// Parses one argument: the contest it chooses in (index and contest) and the choice.
fn parse_choice<'c>(contests: &'c [Contest], arg: &str) -> Result<(usize, &'c Contest, Choice)> {
    let (c, v) = arg.split_once('=').ok_or_else(|| ChoiceError::Syntax {
        arg: arg.to_string(),
    })?;
    let (index, contest) = match c.trim().parse::<usize>() {
        Ok(number) => number
            .checked_sub(1)
            .and_then(|i| contests.get(i).map(|x| (i, x)))
            .ok_or_else(|| ChoiceError::NoContestNumbered {
                arg: arg.to_string(),
                number,
                contests: contests.len(),
            })?,
        Err(_) => contests
            .iter()
            .enumerate()
            .find(|(_, x)| x.title.eq_ignore_ascii_case(c.trim()))
            .ok_or_else(|| ChoiceError::NoContestTitled {
                arg: arg.to_string(),
                title: c.to_string(),
            })?,
    };
    let picks: Vec<usize> = if v.trim().eq_ignore_ascii_case("blank") || v.trim().is_empty() {
        Vec::new()
    } else {
        v.split(',')
            .map(|o| candidate(contest, arg, o.trim()))
            .collect::<Result<_>>()?
    };
    let choice = match contest.kind {
        ContestKind::SingleChoice => match picks.as_slice() {
            [] => Choice::Single(None),
            [one] => Choice::Single(Some(*one)),
            _ => {
                return Err(ChoiceError::OneCandidateOnly {
                    arg: arg.to_string(),
                    contest: contest.title.clone(),
                }
                .into())
            }
        },
        ContestKind::Approval { .. } => Choice::Approval(picks),
        ContestKind::Preferential { .. } => Choice::Ranking(picks),
    };
    Ok((index, contest, choice))
}

/// The index of the candidate `option` names: its number (from 1) or its name.
fn candidate(contest: &Contest, arg: &str, option: &str) -> Result<usize> {
    match option.parse::<usize>() {
        Ok(i) if i >= 1 && i <= contest.candidates.len() => Ok(i - 1),
        _ => contest
            .candidates
            .iter()
            .position(|x| x.eq_ignore_ascii_case(option))
            .ok_or_else(|| {
                ChoiceError::NotACandidate {
                    arg: arg.to_string(),
                    option: option.to_string(),
                    contest: contest.title.clone(),
                    candidates: contest.candidates.clone(),
                }
                .into()
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::default_contests;
    use crate::Error;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn refused(v: &[&str]) -> ChoiceError {
        match parse_choices(&default_contests(), &s(v)) {
            Err(Error::Choice(e)) => e,
            other => panic!("{v:?}: {other:?}"),
        }
    }

    #[test]
    fn choices_by_number_and_name() {
        let c = default_contests();
        let got = parse_choices(&c, &s(&["1=Grace", "2=1,Turing", "3=Labs,Library,5"])).unwrap();
        assert_eq!(got[0], Choice::Single(Some(1)));
        assert_eq!(got[1], Choice::Approval(vec![0, 3]));
        assert_eq!(got[2], Choice::Ranking(vec![1, 0, 4]));
        let blank = parse_choices(&c, &s(&["1=blank", "2=Hopper", "3=1,2,3"])).unwrap();
        assert_eq!(blank[0], Choice::Single(None));
        // Titles and names in any case, spaces around the parts, any order of arguments.
        let loose = parse_choices(
            &c,
            &s(&["3 = housing , LABS,library", "rector= ", " 2 =noether"]),
        )
        .unwrap();
        assert_eq!(
            loose,
            vec![
                Choice::Single(None),
                Choice::Approval(vec![0]),
                Choice::Ranking(vec![3, 1, 0]),
            ]
        );
    }

    #[test]
    fn choice_mistakes_are_explained() {
        let e = |v: &[&str]| refused(v).to_string();
        assert!(e(&["1=Nobody", "2=1", "3=1,2,3"]).contains("not a candidate"));
        assert!(e(&["1=Ada", "2=1"]).contains("no choice for contest 3"));
        assert!(e(&["9=Ada"]).contains("no contest 9"));
        assert!(e(&["1Ada"]).contains("CONTEST=OPTION"));
        assert!(e(&["1=Ada,Grace", "2=1", "3=1,2,3"]).contains("takes one candidate"));
        assert!(e(&["1=Ada", "1=Ada", "2=1", "3=1,2,3"]).contains("chosen twice"));
        assert_eq!(
            e(&["1=Nobody"]),
            "--choice \"1=Nobody\": \"Nobody\" is not a candidate of \"Rector\" (Ada, Grace, Alan, Edsger)"
        );
    }

    #[test]
    fn malformed_choices_are_refused_with_their_reason() {
        let arg = |a: &str| a.to_string();
        assert_eq!(refused(&[""]), ChoiceError::Syntax { arg: arg("") });
        assert_eq!(
            refused(&["Rector"]),
            ChoiceError::Syntax { arg: arg("Rector") }
        );
        assert_eq!(
            refused(&["0=Ada"]),
            ChoiceError::NoContestNumbered {
                arg: arg("0=Ada"),
                number: 0,
                contests: 3
            }
        );
        assert_eq!(
            refused(&["=Ada"]),
            ChoiceError::NoContestTitled {
                arg: arg("=Ada"),
                title: arg("")
            }
        );
        assert_eq!(
            refused(&["Dean=Ada"]),
            ChoiceError::NoContestTitled {
                arg: arg("Dean=Ada"),
                title: arg("Dean")
            }
        );
        // Candidate numbers start at 1; a trailing comma names an empty option.
        for bad in ["1=0", "1=5", "1=Ada,", "2=1,,2"] {
            assert!(
                matches!(refused(&[bad]), ChoiceError::NotACandidate { .. }),
                "{bad}"
            );
        }
        assert_eq!(
            refused(&["1=1,2"]),
            ChoiceError::OneCandidateOnly {
                arg: arg("1=1,2"),
                contest: arg("Rector")
            }
        );
        assert_eq!(
            refused(&["1=Ada", "rector=Grace"]),
            ChoiceError::ChosenTwice {
                number: 1,
                title: arg("Rector")
            }
        );
        assert_eq!(
            refused(&[]),
            ChoiceError::Missing {
                number: 1,
                title: arg("Rector")
            }
        );
        // No contests at all: any argument names a contest that does not exist.
        assert!(matches!(
            parse_choices(&[], &s(&["1=Ada"])),
            Err(Error::Choice(ChoiceError::NoContestNumbered { .. }))
        ));
        assert_eq!(parse_choices(&[], &[]), Ok(Vec::new()));
    }
}

// SPDX-License-Identifier: GPL-2.0-or-later
//! Kernel images to boot: Debian's cloud kernels for the versions people
//! run, fetched with apt from the mirror the machine's own apt sources
//! name and cached under the user's cache directory, or a vmlinuz given
//! by path.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// Which kernel a command runs scenarios on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSpec {
    /// The running kernel (the default).
    Host,
    /// A Debian cloud kernel of a supported series.
    Debian(Series),
    /// A vmlinuz on disk; its config is read from `config-SUFFIX` beside a
    /// `vmlinuz-SUFFIX`, if there is one.
    Path(PathBuf),
}

/// The kernel series vmalab knows how to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    /// 6.1 LTS (Debian 12's kernel).
    V6_1,
    /// 6.12 LTS (Debian 12's second kernel, Debian 13's kernel).
    V6_12,
    /// The newest, 7.2 (Debian unstable).
    V7_2,
}

impl std::str::FromStr for KernelSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "host" => KernelSpec::Host,
            "6.1" => KernelSpec::Debian(Series::V6_1),
            "6.12" => KernelSpec::Debian(Series::V6_12),
            "7.2" => KernelSpec::Debian(Series::V7_2),
            p if p.contains('/') || Path::new(p).is_file() => KernelSpec::Path(PathBuf::from(p)),
            _ => {
                return Err(format!(
                    "unknown kernel `{s}` (host, 6.1, 6.12, 7.2, or a path to a vmlinuz)"
                ))
            }
        })
    }
}

impl std::fmt::Display for KernelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelSpec::Host => f.write_str("host"),
            KernelSpec::Debian(s) => f.write_str(s.version()),
            KernelSpec::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Series {
    /// The version as written on the command line.
    pub fn version(self) -> &'static str {
        match self {
            Series::V6_1 => "6.1",
            Series::V6_12 => "6.12",
            Series::V7_2 => "7.2",
        }
    }

    /// The image package's name pattern (an anchored regular expression for
    /// `apt-cache search --names-only`).
    fn package_pattern(self) -> &'static str {
        match self {
            Series::V6_1 => r"^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$",
            Series::V6_12 => r"^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$",
            Series::V7_2 => r"^linux-binary-unsigned-7\.2\.[0-9]+\+deb14-cloud-amd64$",
        }
    }

    /// The Debian suite that carries it: `None` for the machine's own.
    fn suite(self) -> Option<&'static str> {
        match self {
            Series::V7_2 => Some("unstable"),
            _ => None,
        }
    }
}

/// A kernel ready to boot.
#[derive(Clone, Debug)]
pub struct KernelImage {
    pub vmlinuz: PathBuf,
    /// Its build configuration, if known.
    pub config: Option<PathBuf>,
    /// What it is, for messages (the package name or the path).
    pub name: String,
}

/// The cache directory: `$XDG_CACHE_HOME/vmalab` or `~/.cache/vmalab`.
pub fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("vmalab"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache/vmalab"))
}

/// The image for `spec` (not `Host`): from the cache, else fetched.
pub fn obtain(spec: &KernelSpec) -> anyhow::Result<KernelImage> {
    match spec {
        KernelSpec::Host => bail!("the host kernel is not booted"),
        KernelSpec::Path(p) => from_path(p),
        KernelSpec::Debian(series) => {
            let dir = cache_dir()?.join("kernels");
            if let Some(img) = cached(&dir, *series)? {
                return Ok(img);
            }
            fetch(&dir, *series).with_context(|| {
                format!(
                    "cannot fetch the Linux {} image with apt (is this a Debian machine with \
                     network access to its mirror?)",
                    series.version()
                )
            })
        }
    }
}

/// The image of `spec` if it is at hand without fetching anything (a
/// path that exists, or a complete cache entry); for tests that boot a
/// kernel only where one is already there.
pub fn at_hand(spec: &KernelSpec) -> anyhow::Result<Option<KernelImage>> {
    match spec {
        KernelSpec::Host => Ok(None),
        KernelSpec::Path(p) => from_path(p).map(Some),
        KernelSpec::Debian(series) => cached(&cache_dir()?.join("kernels"), *series),
    }
}

fn from_path(p: &Path) -> anyhow::Result<KernelImage> {
    if !p.is_file() {
        bail!("{}: no such kernel image", p.display());
    }
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let config = name
        .strip_prefix("vmlinuz-")
        .map(|suffix| p.with_file_name(format!("config-{suffix}")))
        .filter(|c| c.is_file());
    Ok(KernelImage {
        vmlinuz: p.to_path_buf(),
        config,
        name: p.display().to_string(),
    })
}

/// A complete cache entry of the series (`<dir>/<package>/vmlinuz` and
/// `config`), the newest if there are several.
fn cached(dir: &Path, series: Series) -> anyhow::Result<Option<KernelImage>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let re = regex_lite(series.package_pattern());
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| re(n))
        .filter(|n| dir.join(n).join("vmlinuz").is_file() && dir.join(n).join("config").is_file())
        .collect();
    found.sort_by_key(|n| version_key(n));
    Ok(found.pop().map(|n| KernelImage {
        vmlinuz: dir.join(&n).join("vmlinuz"),
        config: Some(dir.join(&n).join("config")),
        name: n,
    }))
}

/// The pattern's matcher. The patterns above only use `^`, `$`, `\.`,
/// `\+`, `[0-9]+` and literals; this implements exactly that.
fn regex_lite(pattern: &'static str) -> impl Fn(&str) -> bool {
    move |name: &str| {
        let p = pattern.trim_start_matches('^').trim_end_matches('$');
        let mut rest = name;
        let mut pat = p;
        while !pat.is_empty() {
            if let Some(after) = pat.strip_prefix("[0-9]+") {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return false;
                }
                rest = &rest[n..];
                pat = after;
            } else {
                let (c, after) = match pat.strip_prefix('\\') {
                    Some(a) => (a.chars().next().unwrap_or('\\'), &a[1..]),
                    None => (pat.chars().next().unwrap_or(' '), &pat[1..]),
                };
                match rest.strip_prefix(c) {
                    Some(r) => rest = r,
                    None => return false,
                }
                pat = after;
            }
        }
        rest.is_empty()
    }
}

/// Orders package names by the numbers in them (`6.1.0-50` before `6.1.0-57`).
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// apt options that confine it to a private list directory for `suite`.
struct Apt {
    args: Vec<String>,
}

impl Apt {
    /// The machine's own apt configuration, or a private one for `suite`
    /// on the mirror the machine's sources already name.
    fn for_suite(suite: Option<&str>, state: &Path) -> anyhow::Result<Apt> {
        let Some(suite) = suite else {
            return Ok(Apt { args: Vec::new() });
        };
        let mirror = debian_mirror().context("no Debian mirror in the machine's apt sources")?;
        let dir = state.join(format!("apt-{suite}"));
        std::fs::create_dir_all(dir.join("lists/partial"))?;
        std::fs::create_dir_all(dir.join("cache/archives/partial"))?;
        let list = dir.join("sources.list");
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        std::fs::write(
            &list,
            format!("deb [signed-by={keyring}] {mirror} {suite} main\n"),
        )?;
        let opt = |k: &str, v: &Path| format!("-o{k}={}", v.display());
        let args = vec![
            opt("Dir::Etc::sourcelist", &list),
            opt("Dir::Etc::sourceparts", Path::new("/dev/null")),
            opt("Dir::State::Lists", &dir.join("lists")),
            opt("Dir::Cache", &dir.join("cache")),
            "-oDebug::NoLocking=1".to_string(),
        ];
        let apt = Apt { args };
        let fresh = std::fs::read_dir(dir.join("lists"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with("Packages"))
            })
            .unwrap_or(false);
        if !fresh {
            apt.run("apt-get", &["update", "-qq"], &dir)?;
        }
        Ok(apt)
    }

    fn run(&self, tool: &str, args: &[&str], cwd: &Path) -> anyhow::Result<String> {
        let out = Command::new(tool)
            .args(&self.args)
            .args(["-oAcquire::Retries=1", "-oAcquire::http::Timeout=30"])
            .args(args)
            .current_dir(cwd)
            .output()
            .with_context(|| format!("cannot run {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The first Debian archive URI in the machine's apt sources (one-line
/// `sources.list` entries or deb822 `.sources` files).
fn debian_mirror() -> Option<String> {
    let mut texts = Vec::new();
    if let Ok(t) = std::fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    if let Ok(d) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in d.filter_map(Result::ok) {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push(t);
                }
            }
        }
    }
    texts.iter().flat_map(|t| t.lines()).find_map(|l| {
        let l = l.trim();
        let uri = if let Some(v) = l.strip_prefix("URIs:") {
            v.split_whitespace().next()
        } else if l.starts_with("deb ") {
            l.split_whitespace().find(|w| w.contains("://"))
        } else {
            None
        }?;
        let uri = uri.trim_end_matches('/');
        uri.ends_with("/debian").then(|| uri.to_string())
    })
}

/// Downloads the newest image package of `series` and extracts vmlinuz and
/// config into `<dir>/<package>/`.
fn fetch(dir: &Path, series: Series) -> anyhow::Result<KernelImage> {
    std::fs::create_dir_all(dir)?;
    let apt = Apt::for_suite(series.suite(), dir)?;
    let found = apt.run(
        "apt-cache",
        &["search", "--names-only", series.package_pattern()],
        dir,
    )?;
    let re = regex_lite(series.package_pattern());
    let mut names: Vec<&str> = found
        .lines()
        .filter_map(|l| l.split(" - ").next())
        .filter(|n| re(n))
        .collect();
    names.sort_by_key(|n| version_key(n));
    let Some(package) = names.pop() else {
        bail!("no package matches {}", series.package_pattern());
    };
    let mut packages = vec![package.to_string()];
    if let Some(release) = package.strip_prefix("linux-binary-unsigned-") {
        // Newer packaging keeps the config in a separate package.
        packages.push(format!("linux-base-{release}"));
    }
    let work = dir.join(format!("{package}.download"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let mut args = vec!["download", "-qq"];
    args.extend(packages.iter().map(String::as_str));
    apt.run("apt-get", &args, &work)?;
    let root = work.join("root");
    for deb in std::fs::read_dir(&work)?.filter_map(Result::ok) {
        let p = deb.path();
        if p.extension().is_some_and(|x| x == "deb") {
            let st = Command::new("dpkg")
                .arg("-x")
                .arg(&p)
                .arg(&root)
                .status()
                .context("cannot run dpkg -x")?;
            if !st.success() {
                bail!("dpkg -x {} failed", p.display());
            }
        }
    }
    let vmlinuz =
        find_file(&root, |n| n.starts_with("vmlinuz")).context("the package holds no vmlinuz")?;
    let config = find_file(&root, |n| n == "config" || n.starts_with("config-"))
        .context("the package holds no kernel config")?;
    let dest = dir.join(package);
    std::fs::create_dir_all(&dest)?;
    std::fs::copy(&vmlinuz, dest.join("vmlinuz"))?;
    std::fs::copy(&config, dest.join("config"))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(KernelImage {
        vmlinuz: dest.join("vmlinuz"),
        config: Some(dest.join("config")),
        name: package.to_string(),
    })
}

/// The first file under `dir` whose name satisfies `pred`.
fn find_file(dir: &Path, pred: impl Fn(&str) -> bool + Copy) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = e.path();
        let ty = e.file_type().ok()?;
        if ty.is_dir() {
            if let Some(f) = find_file(&p, pred) {
                return Some(f);
            }
        } else if ty.is_file() && e.file_name().to_str().is_some_and(pred) {
            return Some(p);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("host".parse(), Ok(KernelSpec::Host));
        assert_eq!("6.12".parse(), Ok(KernelSpec::Debian(Series::V6_12)));
        assert_eq!(
            "./vmlinuz".parse(),
            Ok(KernelSpec::Path(PathBuf::from("./vmlinuz")))
        );
        assert!("5.4".parse::<KernelSpec>().is_err());
    }

    #[test]
    fn package_patterns_match_debian_names() {
        let m = regex_lite(Series::V6_1.package_pattern());
        assert!(m("linux-image-6.1.0-57-cloud-amd64-unsigned"));
        assert!(!m("linux-image-6.1.0-57-cloud-amd64-dbg"));
        assert!(!m("linux-image-6.12.1+deb12-cloud-amd64-unsigned"));
        let m = regex_lite(Series::V6_12.package_pattern());
        assert!(m("linux-image-6.12.111+deb12-cloud-amd64-unsigned"));
        let m = regex_lite(Series::V7_2.package_pattern());
        assert!(m("linux-binary-unsigned-7.2.13+deb14-cloud-amd64"));
        assert!(!m("linux-binary-7.2.13+deb14-cloud-amd64"));
    }

    #[test]
    fn newest_package_sorts_last() {
        let mut v = [
            "linux-image-6.1.0-57-x",
            "linux-image-6.1.0-100-x",
            "linux-image-6.1.0-9-x",
        ];
        v.sort_by_key(|n| version_key(n));
        assert_eq!(v.last(), Some(&"linux-image-6.1.0-100-x"));
    }
}

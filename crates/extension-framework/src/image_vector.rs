//! Gardener's image vector: the images an extension deploys, from an embedded `images.yaml`,
//! overridable by operators through the file named in `IMAGEVECTOR_OVERWRITE`.
//!
//! ```
//! use extension_framework::image_vector::ImageVector;
//! let vector = ImageVector::parse("images:\n- name: installer\n  repository: registry.example/gvisor-installer\n").unwrap();
//! // No tag in the vector: the extension's own version is the tag.
//! assert_eq!(vector.find("installer", "v1.2.3").unwrap().to_string(), "registry.example/gvisor-installer:v1.2.3");
//! ```

use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// The environment variable naming the overwrite file (the charts mount it from a ConfigMap).
pub const OVERWRITE_ENV: &str = "IMAGEVECTOR_OVERWRITE";

/// One entry of an image vector.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSource {
    /// The name the extension looks the image up by.
    pub name: String,
    /// Where the image comes from (informational).
    #[serde(default)]
    pub source_repository: Option<String>,
    /// The repository, e.g. `europe-docker.pkg.dev/gardener-project/releases/gvisor-installation`.
    #[serde(default)]
    pub repository: Option<String>,
    /// Tag or `sha256:` digest; defaults to the extension's version.
    #[serde(default)]
    pub tag: Option<String>,
    /// The Kubernetes versions this entry is for (informational here).
    #[serde(default)]
    pub target_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Document {
    #[serde(default)]
    images: Vec<ImageSource>,
}

/// A resolved image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The repository.
    pub repository: String,
    /// Tag or digest.
    pub tag: String,
}

impl fmt::Display for Image {
    /// `repo:tag`, or `repo@sha256:...` for a digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tag.starts_with("sha256:") {
            write!(f, "{}@{}", self.repository, self.tag)
        } else {
            write!(f, "{}:{}", self.repository, self.tag)
        }
    }
}

/// Why the image vector could not be read or an image not found.
#[derive(Debug, thiserror::Error)]
pub enum ImageVectorError {
    /// The YAML is malformed.
    #[error("image vector {source_name}: {message}")]
    Parse {
        /// Embedded or the file's path.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// The overwrite file could not be read.
    #[error("reading image vector overwrite {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No entry of that name, or one without a repository.
    #[error("could not find image {0:?}")]
    NotFound(String),
}

/// An ordered set of image sources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageVector {
    images: Vec<ImageSource>,
}

impl ImageVector {
    /// Parses an `images.yaml` document.
    ///
    /// # Errors
    /// [`ImageVectorError::Parse`] for malformed YAML.
    pub fn parse(yaml: &str) -> Result<Self, ImageVectorError> {
        Self::parse_named(yaml, "embedded")
    }

    fn parse_named(yaml: &str, name: &str) -> Result<Self, ImageVectorError> {
        let doc: Document = serde_saphyr::from_str(yaml).map_err(|e| ImageVectorError::Parse {
            source_name: name.into(),
            message: e.to_string(),
        })?;
        Ok(Self { images: doc.images })
    }

    /// The embedded vector with the overwrite file of `IMAGEVECTOR_OVERWRITE` applied, if set.
    ///
    /// # Errors
    /// Either document is malformed or the file cannot be read.
    pub fn with_overwrite_from_env(embedded: &str) -> Result<Self, ImageVectorError> {
        let mut vector = Self::parse(embedded)?;
        if let Some(file) = std::env::var_os(OVERWRITE_ENV).filter(|f| !f.is_empty()) {
            vector = vector.overwrite_from_file(Path::new(&file))?;
        }
        Ok(vector)
    }

    /// Applies an overwrite file.
    ///
    /// # Errors
    /// The file cannot be read or is malformed.
    pub fn overwrite_from_file(self, file: &Path) -> Result<Self, ImageVectorError> {
        let text = std::fs::read_to_string(file).map_err(|source| ImageVectorError::Read {
            file: file.display().to_string(),
            source,
        })?;
        Ok(self.overwrite(Self::parse_named(&text, &file.display().to_string())?))
    }

    /// Entries of `overwrite` replace the fields they set in the entry of the same name and
    /// target version; unknown names are added (upstream's `imagevector.WithEnvOverride`).
    pub fn overwrite(mut self, overwrite: ImageVector) -> Self {
        for new in overwrite.images {
            match self
                .images
                .iter_mut()
                .find(|i| i.name == new.name && i.target_version == new.target_version)
            {
                Some(old) => {
                    old.repository = new.repository.or(old.repository.take());
                    old.tag = new.tag.or(old.tag.take());
                    old.source_repository = new.source_repository.or(old.source_repository.take());
                }
                None => self.images.push(new),
            }
        }
        self
    }

    /// The image `name`, tagged with `default_tag` (the extension's version) when the vector
    /// gives no tag.
    ///
    /// # Errors
    /// [`ImageVectorError::NotFound`] when there is no such entry with a repository.
    pub fn find(&self, name: &str, default_tag: &str) -> Result<Image, ImageVectorError> {
        let source = self
            .images
            .iter()
            .find(|i| i.name == name && i.repository.is_some())
            .ok_or_else(|| ImageVectorError::NotFound(name.into()))?;
        Ok(Image {
            repository: source.repository.clone().unwrap_or_default(),
            tag: source
                .tag
                .clone()
                .unwrap_or_else(|| default_tag.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMBEDDED: &str = "images:
- name: installer
  sourceRepository: github.com/gardener/gardener-extension-runtime-gvisor
  repository: europe-docker.pkg.dev/gardener-project/releases/gvisor-installation
- name: pause
  repository: registry.k8s.io/pause
  tag: \"3.10\"
";

    #[test]
    fn lookup_defaults_the_tag_and_prints_digests() {
        let v = ImageVector::parse(EMBEDDED).unwrap();
        assert_eq!(
            v.find("installer", "v0.5.0").unwrap().to_string(),
            "europe-docker.pkg.dev/gardener-project/releases/gvisor-installation:v0.5.0"
        );
        assert_eq!(
            v.find("pause", "v0.5.0").unwrap().to_string(),
            "registry.k8s.io/pause:3.10"
        );
        assert_eq!(
            v.find("nope", "v1").unwrap_err().to_string(),
            "could not find image \"nope\""
        );
        let digest = Image {
            repository: "r".into(),
            tag: "sha256:abc".into(),
        };
        assert_eq!(digest.to_string(), "r@sha256:abc");
    }

    #[test]
    fn overwrite_file_replaces_set_fields_and_adds_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("images_overwrite.yaml");
        std::fs::write(
            &file,
            "images:\n- name: installer\n  repository: internal.example/gvisor-installation\n  tag: v9\n- name: extra\n  repository: internal.example/extra\n",
        )
        .unwrap();
        let v = ImageVector::parse(EMBEDDED)
            .unwrap()
            .overwrite_from_file(&file)
            .unwrap();
        assert_eq!(
            v.find("installer", "v0.5.0").unwrap().to_string(),
            "internal.example/gvisor-installation:v9"
        );
        assert_eq!(
            v.find("pause", "x").unwrap().tag,
            "3.10",
            "untouched entries stay"
        );
        assert!(v.find("extra", "v1").is_ok());
        assert!(matches!(
            ImageVector::parse(EMBEDDED)
                .unwrap()
                .overwrite_from_file(&dir.path().join("missing")),
            Err(ImageVectorError::Read { .. })
        ));
        assert!(ImageVector::parse("images: [").is_err());
    }
}

package npm

import (
	"context"
	"strings"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Locate finds the repository, commit and package directory of up: the registry's gitHead
// when present, then version tags, package.json history, and finally a search for the commit
// whose tree best matches the tarball's files (design §1.2).
func (e *Ecosystem) Locate(ctx context.Context, up *ecosystem.Upstream, mirrors *source.Mirrors) (definition.Location, error) {
	if up.RepoURL == "" {
		return definition.Location{}, verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL,
			"%s@%s names no repository in its package.json", up.Target.PackageName(), up.Target.Version)
	}
	repoURL, dir, err := source.Canonicalize(up.RepoURL)
	if err != nil {
		return definition.Location{}, err
	}
	if up.RepoDir != "" {
		dir = up.RepoDir
	}
	dir = strings.Trim(strings.TrimPrefix(dir, "./"), "/")
	repo, err := mirrors.Sync(ctx, repoURL)
	if ve, ok := verdict.As(err); ok && ve.Reason == verdict.ReasonCloneFailed && ctx.Err() == nil {
		// A repository renamed or moved since the release: the package's newer metadata
		// names where it is now (the commit is still checked against name and version).
		for _, o := range up.OtherRepos {
			u, d, cerr := source.Canonicalize(o.URL)
			if cerr != nil || u == repoURL {
				continue
			}
			r, serr := mirrors.Sync(ctx, u)
			if serr != nil {
				continue
			}
			if up.RepoDir == "" && d == "" {
				d = o.Dir
			}
			if up.RepoDir != "" {
				d = up.RepoDir
			}
			repo, repoURL, dir, err = r, u, strings.Trim(strings.TrimPrefix(d, "./"), "/"), nil
			break
		}
	}
	if err != nil {
		return definition.Location{}, err
	}
	files, manifest, err := upstreamBlobs(up.Path)
	if err != nil {
		return definition.Location{}, err
	}
	return source.Locate(ctx, repo, source.Query{
		Repo:           repoURL,
		DirHint:        dir,
		Name:           up.Target.PackageName(),
		Version:        up.Target.Version,
		Commit:         up.Commit,
		CommitEvidence: up.CommitEvidence,
		Manifest:       "package.json",
		ReadManifest: func(b []byte) (string, string, error) {
			m, err := parseManifest(b)
			if err != nil {
				return "", "", err
			}
			return m.Name, m.Version, nil
		},
		UpstreamFiles:    files,
		UpstreamManifest: manifest,
	})
}

// upstreamBlobs maps the tarball's package-relative paths to git blob hashes, for content
// search, and gives package.json's apart: publishing tools rewrite it (version placeholders,
// yarn, pnpm), so it only tells commits apart when it is the repository's exactly.
func upstreamBlobs(tgz string) (files map[string]string, manifest string, err error) {
	u, err := readUpstream(tgz)
	if err != nil {
		return nil, "", err
	}
	files = make(map[string]string, len(u.files))
	for _, rel := range u.files {
		if rel == "package.json" {
			manifest = source.BlobHash(u.data[rel])
			continue
		}
		files[rel] = source.BlobHash(u.data[rel])
	}
	return files, manifest, nil
}

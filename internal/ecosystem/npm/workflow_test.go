package npm

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePublishWorkflow(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, pkgDir string
		want               *publishWorkflow // nil: no workflow publishes another directory
	}{
		{
			name: "typestack",
			yaml: `on: {release: {types: [created]}}
jobs:
  publish:
    steps:
      - uses: actions/checkout@v1
      - run: npm ci --ignore-scripts
      - run: npm run prettier:check
      - run: npm run test:ci
      - run: npm run build:cjs
      - run: jq 'del(.scripts)' package.json > build/package.json
      - run: npm publish ./build
`,
			want: &publishWorkflow{Job: "publish", PublishDir: "build",
				Run:     []string{"npm run build:cjs", "jq 'del(.scripts)' package.json > build/package.json"},
				Dropped: []string{"npm ci --ignore-scripts", "npm run prettier:check", "npm run test:ci"}},
		},
		{
			// tailwindcss 3.3.5: a dist-tag from an expression is not a directory.
			name: "publish with a tag from an expression",
			yaml: `jobs:
  release:
    steps:
      - run: npm run build
      - run: npm publish --tag ${{ env.RELEASE_CHANNEL }} --access public
`,
		},
		{
			name: "working directory, version from the release tag",
			yaml: `jobs:
  release:
    defaults: {run: {working-directory: lib}}
    steps:
      - run: |
          yarn install --frozen-lockfile
          npm version ${{ github.event.release.tag_name }} --no-git-tag-version
          yarn build \
            --prod
          echo ${{ steps.x.outputs.y }}
      - run: git config user.name bot
      - run: npm publish --access public
        working-directory: lib/dist
`,
			want: &publishWorkflow{Job: "release", PublishDir: "lib/dist",
				Run:     []string{"cd 'lib' && npm version v2.0.0 --no-git-tag-version", "cd 'lib' && yarn build --prod"},
				Dropped: []string{"yarn install --frozen-lockfile", "echo ${{ steps.x.outputs.y }}", "git config user.name bot"}},
		},
		{
			name: "cd in the publishing line",
			yaml: "jobs:\n  p:\n    steps:\n      - run: |\n          cd lib\n          npm run build && cd dist && npm run stamp && npm publish --tag next\n",
			want: &publishWorkflow{Job: "p", PublishDir: "lib/dist", Run: []string{"cd 'lib' && npm run build && cd 'dist' && npm run stamp"}},
		},
		{
			name: "the package publishes itself",
			yaml: "jobs:\n  p:\n    steps:\n      - run: npm run build\n      - run: npm publish\n",
		},
		{
			name: "another package of the monorepo is not this one's",
			yaml: "jobs:\n  p:\n    steps:\n      - run: cd packages/b && npm publish\n", pkgDir: "packages/b",
		},
		{
			name: "outside the repository",
			yaml: "jobs:\n  p:\n    steps:\n      - run: npm publish ../elsewhere\n",
		},
		{name: "not yaml", yaml: "{{{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parsePublishWorkflow([]byte(tc.yaml), tc.pkgDir, "v2.0.0")
			if ok != (tc.want != nil) {
				t.Fatalf("found = %v (%+v), want %v", ok, got, tc.want != nil)
			}
			if diff := cmp.Diff(tc.want, got); ok && diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDropCommand(t *testing.T) {
	for cmd, want := range map[string]bool{
		"npm run build":           false,
		"npm run build:umd":       false,
		"yarn build":              false,
		"cp LICENSE build":        false,
		"npm test":                true,
		"yarn":                    true,
		"pnpm install":            true,
		"npm run lint":            true,
		"npm run format:check":    true,
		"yarn test:unit":          true,
		"npx codecov":             true,
		"git push --tags":         true,
		"npm config set registry": true,
	} {
		if got := dropCommand(strings.Fields(cmd)); got != want {
			t.Errorf("dropCommand(%q) = %v, want %v", cmd, got, want)
		}
	}
}

func TestGitHubEnvFile(t *testing.T) {
	got := githubEnvFile([]byte("SHA_SHORT=abc123\nNOTES<<EOF\nline 1\nline 2\nEOF\n\nnot an assignment\nX=a=b\r\n"))
	want := []string{"SHA_SHORT=abc123", "NOTES=line 1\nline 2", "X=a=b"}
	if !slices.Equal(got, want) {
		t.Errorf("githubEnvFile = %q, want %q", got, want)
	}
}

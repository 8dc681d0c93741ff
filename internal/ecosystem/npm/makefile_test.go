package npm

import "testing"

func TestFindMakeRelease(t *testing.T) {
	reactModal := "BABEL=./node_modules/.bin/babel\nREMOTE=\"git@github.com:reactjs/react-modal\"\nCURRENT_VERSION:=$(shell jq \".version\" package.json)\n\n" +
		"compile:\n\t@echo \"[Compiling source]\"\n\t$(BABEL) src --out-dir lib\n\nbuild: compile\n\t@npx webpack --config ./scripts/webpack.dist.config.js\n\n" +
		"publish-version: release-commit release-tag\n\t@echo \"[Publishing]\"\n\tgit push $(REMOTE) \"$(BRANCH)\" \"v$(VERSION)\"\n\tnpm publish\n"
	async := "BUILDDIR = build\nall: clean lint build test\n.PHONY: build-modules build-bundle\nbuild: build-bundle build-dist\n" +
		"release-major release-minor release-patch release-prerelease: all\n\tgit checkout master\n\t$(XYZ) --increment $(@:release-%=%)\n\t$(MAKE) build-config\n\tcd build/ && npm publish\n\tcd build-es/ && npm publish\n"
	for _, c := range []struct {
		name, mk string
		want     makeRelease
		ok       bool
	}{
		{"react-modal", reactModal, makeRelease{Target: "build", PublishDir: ".", Line: "npm publish"}, true},
		{"async", async, makeRelease{Target: "build", PublishDir: "build", Line: "cd build/ && npm publish"}, true},
		{"publish a directory", "dist:\n\tnode build.js\nrelease: dist\n\tnpm publish --tag next ./out\n", makeRelease{Target: "dist", PublishDir: "out", Line: "npm publish --tag next ./out"}, true},
		{"no build target", "release:\n\tnpm publish\n", makeRelease{}, false},
		{"no publish", "build:\n\tnode build.js\n", makeRelease{}, false},
		{"outside", "build:\n\ttrue\nrelease:\n\tcd ../other && npm publish\n", makeRelease{}, false},
		{"a variable named build", "build := 1\nrelease:\n\tnpm publish\n", makeRelease{}, false},
	} {
		got, ok := findMakeRelease([]byte(c.mk))
		if ok != c.ok || got != c.want {
			t.Errorf("%s: findMakeRelease = %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

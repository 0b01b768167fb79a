const { src, dest } = require('gulp');

/** tsc emits only JavaScript: copy the node and credential icons and the codex files beside it. */
function copyNodeAssets() {
	return src(['nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

exports['build:icons'] = copyNodeAssets;

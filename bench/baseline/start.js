// Imported first by form.js, so that in the bundle this runs before any dependency's module code
// (libphonenumber-js's metadata, mailcheck): the same "script starts" mark as www/embed.js's first line.
if (window.performance && performance.mark) performance.mark("handoff:script");

//! The console's foundation: login by cookie, CSRF, language, scope.

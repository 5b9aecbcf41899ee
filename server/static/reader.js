// The reader's page script: lays out the book inside its sandboxed frame.
"use strict";

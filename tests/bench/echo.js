// echo.js - the Node echo child: every message goes straight back.
'use strict';
process.on('message', (m) => process.send(m));

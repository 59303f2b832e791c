// SPDX-License-Identifier: MIT
// The web page served at "/", embedded at build time from web/index.html (embed_web.cmake).
#pragma once

namespace mamba::server {

// The page, UTF-8 HTML with its CSS and JavaScript inline (no external requests).
extern const char kIndexHtml[];

}  // namespace mamba::server

// SPDX-License-Identifier: MIT
// OpenAI-compatible handlers: JSON in (validated field by field, unknown fields ignored as OpenAI
// does), GenerationRequest to the scheduler, JSON or server-sent events out.
#include "api.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <memory>
#include <random>
#include <sstream>

#include "chat_template.h"
#include "web_assets.h"

namespace mamba::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A request that failed validation: the message and the offending field.
struct BadRequest {
  std::string message;
  std::string param;
};

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse Error(int status, const std::string& message, const std::string& param = "",
                   const std::string& code = "") {
  HttpResponse r;
  r.status = status;
  r.body = ErrorJson(message, ErrorTypeForStatus(status), param, code);
  return r;
}

// What both completion endpoints accept.
struct Parsed {
  GenerationRequest gen;
  bool stream = false;
  bool include_usage = false;
};

// Reads an optional number field into `out`, checking its type and range.
bool GetNumber(const json& j, const char* key, double lo, double hi, float& out, BadRequest& bad) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number()) {
    bad = {std::string(key) + " must be a number", key};
    return false;
  }
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    std::ostringstream msg;
    msg << key << " must be between " << lo << " and " << hi << ", got " << it->dump();
    bad = {msg.str(), key};
    return false;
  }
  out = static_cast<float>(v);
  return true;
}

// Reads an optional integer field (any integral JSON number) into `out`.
bool GetInt(const json& j, const char* key, int64_t lo, int64_t hi, int64_t& out, BadRequest& bad) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number_integer()) {
    bad = {std::string(key) + " must be an integer", key};
    return false;
  }
  // Unsigned values above int64 max are out of range anyway.
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi)) {
    bad = {std::string(key) + " must be at most " + std::to_string(hi) + ", got " + it->dump(),
           key};
    return false;
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    bad = {std::string(key) + " must be between " + std::to_string(lo) + " and " +
               std::to_string(hi) + ", got " + it->dump(),
           key};
    return false;
  }
  out = v;
  return true;
}

// The text of a chat message's content: a string or an array of {"type":"text","text":...}.
bool ContentText(const json& content, std::string& out, BadRequest& bad) {
  if (content.is_string()) {
    out = content.get<std::string>();
    return true;
  }
  if (content.is_array()) {
    for (const json& part : content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string()) {
        bad = {"message content parts must be {\"type\": \"text\", \"text\": string}", "messages"};
        return false;
      }
      out += part["text"].get<std::string>();
    }
    return true;
  }
  if (content.is_null()) return true;
  bad = {"message content must be a string or an array of text parts", "messages"};
  return false;
}

}  // namespace

std::string ErrorTypeForStatus(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string ErrorJson(const std::string& message, const std::string& type, const std::string& param,
                      const std::string& code) {
  json e = {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}};
  return json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Api::Api(BatchScheduler& scheduler, const Tokenizer& tokenizer, ApiOptions options)
    : scheduler_(scheduler),
      tokenizer_(tokenizer),
      options_(std::move(options)),
      started_(Clock::now()),
      last_scrape_(started_) {}

void Api::Register(HttpServer& http) {
  http.Handle("GET", "/", [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = kIndexHtml;
    return r;
  });
  http.Handle("GET", "/health", [this](const HttpRequest& r) { return Health(r); });
  http.Handle("GET", "/v1/models", [this](const HttpRequest& r) { return Models(r); });
  http.Handle("GET", "/metrics", [this](const HttpRequest& r) { return Metrics(r); });
  http.Handle("POST", "/v1/completions",
              [this](const HttpRequest& r) { return Completions(r, /*chat=*/false); });
  http.Handle("POST", "/v1/chat/completions",
              [this](const HttpRequest& r) { return Completions(r, /*chat=*/true); });
}

HttpResponse Api::CheckAuth(const HttpRequest& request) const {
  HttpResponse ok;
  ok.status = 0;
  if (options_.api_key.empty()) return ok;
  if (request.Header("authorization") == "Bearer " + options_.api_key) return ok;
  return Error(401, "missing or wrong API key (send 'Authorization: Bearer KEY')", "",
               "invalid_api_key");
}

HttpResponse Api::Health(const HttpRequest&) { return JsonResponse(200, {{"status", "ok"}}); }

HttpResponse Api::Models(const HttpRequest& request) {
  if (HttpResponse a = CheckAuth(request); a.status != 0) return a;
  const auto created = static_cast<int64_t>(std::time(nullptr));
  json model = {{"id", options_.model_name},
                {"object", "model"},
                {"created", created},
                {"owned_by", "mamba-ssm"}};
  return JsonResponse(200, {{"object", "list"}, {"data", json::array({model})}});
}

HttpResponse Api::Metrics(const HttpRequest& request) {
  if (HttpResponse a = CheckAuth(request); a.status != 0) return a;
  const SchedulerStats s = scheduler_.Stats();
  double rate = 0;
  {
    std::lock_guard<std::mutex> lock(rate_mu_);
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_scrape_).count();
    if (dt > 0) rate = static_cast<double>(s.generated_tokens - last_generated_) / dt;
    last_scrape_ = now;
    last_generated_ = s.generated_tokens;
  }
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  metric("mamba_requests_total", "counter", "Requests accepted.",
         static_cast<double>(s.requests_submitted));
  metric("mamba_requests_rejected_total", "counter", "Requests refused (invalid or queue full).",
         static_cast<double>(s.requests_rejected));
  metric("mamba_requests_finished_total", "counter", "Requests finished (any reason).",
         static_cast<double>(s.requests_finished));
  metric("mamba_prompt_tokens_total", "counter", "Prompt tokens prefilled.",
         static_cast<double>(s.prompt_tokens));
  metric("mamba_generated_tokens_total", "counter", "Tokens sampled.",
         static_cast<double>(s.generated_tokens));
  metric("mamba_decode_steps_total", "counter", "Batched decode forward calls.",
         static_cast<double>(s.decode_steps));
  metric("mamba_tokens_per_second", "gauge", "Tokens sampled per second since the last scrape.",
         rate);
  metric("mamba_queue_depth", "gauge", "Requests waiting for a slot.",
         static_cast<double>(s.queue_depth));
  metric("mamba_active_sequences", "gauge", "Sequences being generated.",
         static_cast<double>(s.active));
  metric("mamba_slots", "gauge", "Sequences decoded together at most (--parallel).",
         static_cast<double>(s.max_slots));
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = out.str();
  return r;
}

HttpResponse Api::Completions(const HttpRequest& request, bool chat) {
  if (HttpResponse a = CheckAuth(request); a.status != 0) return a;
  const json j = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(400, "the request body is not valid JSON");
  if (!j.is_object()) return Error(400, "the request body must be a JSON object");

  Parsed p;
  BadRequest bad;
  GenerationRequest& gen = p.gen;
  // Unset fields take mamba-cli's (= llama.cpp's) defaults, as llama.cpp's server does:
  // temperature 0.8, top_k 40, top_p 0.95, min_p 0.05. Top-k also keeps sampling cheap (a
  // partial sort instead of sorting the whole vocabulary every token).
  gen.sampling.seed = std::random_device{}();
  int64_t max_tokens =
      chat ? options_.default_chat_max_tokens : options_.default_completion_max_tokens;
  int64_t top_k = gen.sampling.top_k, n = 1, seed = -1;
  const char* max_key =
      chat && j.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (!GetInt(j, max_key, 1, options_.max_tokens_limit, max_tokens, bad) ||
      !GetNumber(j, "temperature", 0, 2, gen.sampling.temperature, bad) ||
      !GetNumber(j, "top_p", 0, 1, gen.sampling.top_p, bad) ||
      !GetNumber(j, "min_p", 0, 1, gen.sampling.min_p, bad) ||
      !GetNumber(j, "presence_penalty", -2, 2, gen.sampling.presence_penalty, bad) ||
      !GetNumber(j, "frequency_penalty", -2, 2, gen.sampling.frequency_penalty, bad) ||
      !GetNumber(j, "repeat_penalty", 0.01, 10, gen.sampling.repeat_penalty, bad) ||
      !GetInt(j, "top_k", 0, 1 << 30, top_k, bad) || !GetInt(j, "n", 1, 1, n, bad) ||
      !GetInt(j, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
              seed, bad)) {
    return Error(400, bad.message, bad.param);
  }
  gen.max_tokens = static_cast<int32_t>(max_tokens);
  gen.sampling.top_k = static_cast<int32_t>(top_k);
  if (j.contains("seed") && !j["seed"].is_null()) gen.sampling.seed = static_cast<uint64_t>(seed);
  if (auto it = j.find("ignore_eos"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Error(400, "ignore_eos must be a boolean", "ignore_eos");
    gen.ignore_eos = it->get<bool>();
  }
  if (auto it = j.find("stream"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Error(400, "stream must be a boolean", "stream");
    p.stream = it->get<bool>();
  }
  if (auto it = j.find("stream_options"); it != j.end() && it->is_object()) {
    p.include_usage = it->value("include_usage", false) == true;
  }
  if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      gen.stop.push_back(it->get<std::string>());
    } else if (it->is_array() && it->size() <= 4) {
      for (const json& s : *it) {
        if (!s.is_string()) return Error(400, "stop must be a string or strings", "stop");
        gen.stop.push_back(s.get<std::string>());
      }
    } else {
      return Error(400, "stop must be a string or an array of at most 4 strings", "stop");
    }
  }

  if (chat) {
    auto it = j.find("messages");
    if (it == j.end() || !it->is_array() || it->empty()) {
      return Error(400, "messages must be a non-empty array", "messages");
    }
    std::vector<ChatMessage> messages;
    for (const json& m : *it) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
        return Error(400, "each message must be an object with a string role", "messages");
      }
      ChatMessage cm{m["role"].get<std::string>(), ""};
      if (m.contains("content") && !ContentText(m["content"], cm.content, bad)) {
        return Error(400, bad.message, bad.param);
      }
      messages.push_back(std::move(cm));
    }
    auto rendered = options_.chat_template.Render(messages);
    if (!rendered.ok()) return Error(400, rendered.status().message(), "messages");
    gen.prompt = tokenizer_.Encode(*rendered);
    for (const std::string& s : options_.chat_template.stop) gen.stop.push_back(s);
  } else {
    auto it = j.find("prompt");
    if (it == j.end() || it->is_null()) return Error(400, "prompt is required", "prompt");
    const json* prompt = &*it;
    if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
      prompt = &(*prompt)[0];
    }
    if (prompt->is_string()) {
      gen.prompt = tokenizer_.Encode(prompt->get<std::string>());
    } else if (prompt->is_array() && !prompt->empty()) {
      for (const json& id : *prompt) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
          return Error(400, "prompt must be a string, one string, or an array of token ids",
                       "prompt");
        }
        gen.prompt.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    } else {
      return Error(400, "prompt must be a string, one string, or an array of token ids", "prompt");
    }
    if (gen.prompt.empty()) gen.prompt.push_back(options_.bos_token);
  }

  // The worker thread hands text and the end to this connection's thread through `ch`.
  struct Channel {
    std::mutex mu;
    std::condition_variable cv;
    std::string pending;
    bool done = false;
    GenerationResult result;
  };
  auto ch = std::make_shared<Channel>();
  gen.on_text = [ch](std::string_view text) {
    std::lock_guard<std::mutex> lock(ch->mu);
    ch->pending.append(text);
    ch->cv.notify_all();
    return true;
  };
  gen.on_done = [ch](const GenerationResult& r) {
    std::lock_guard<std::mutex> lock(ch->mu);
    ch->result = r;
    ch->done = true;
    ch->cv.notify_all();
  };
  const Admission adm = scheduler_.Submit(std::move(gen));
  if (adm.kind == Admission::kInvalid) return Error(400, adm.error.message());
  if (adm.kind == Admission::kQueueFull) return Error(429, adm.error.message());

  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id_++);
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const std::string object = chat ? "chat.completion" : "text_completion";
  const std::string model = options_.model_name;
  auto usage = [](const GenerationResult& r) {
    return json{{"prompt_tokens", r.prompt_tokens},
                {"completion_tokens", r.completion_tokens},
                {"total_tokens", r.prompt_tokens + r.completion_tokens}};
  };
  auto finish = [](const GenerationResult& r) {
    return json(r.finish_reason == FinishReason::kLength ? "length" : "stop");
  };

  if (!p.stream) {
    std::unique_lock<std::mutex> lock(ch->mu);
    ch->cv.wait(lock, [&] { return ch->done; });
    const GenerationResult& r = ch->result;
    if (r.finish_reason == FinishReason::kError) return Error(500, r.error.message());
    if (r.finish_reason == FinishReason::kCancelled) {
      return Error(503, "the request was cancelled (server shutting down)");
    }
    json choice = {{"index", 0}, {"finish_reason", finish(r)}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", ch->pending}};
    } else {
      choice["text"] = ch->pending;
      choice["logprobs"] = nullptr;
    }
    return JsonResponse(200, {{"id", id},
                              {"object", object},
                              {"created", created},
                              {"model", model},
                              {"choices", json::array({choice})},
                              {"usage", usage(r)}});
  }

  HttpResponse resp;
  resp.content_type = "text/event-stream";
  resp.headers["Cache-Control"] = "no-cache";
  BatchScheduler* sched = &scheduler_;
  const uint64_t request_id = adm.id;
  const bool include_usage = p.include_usage;
  // However the connection ends (finished, client gone before or during the stream), the
  // request is cancelled if still running, so its slot is freed. A finished id is ignored.
  resp.on_close = [sched, request_id] { sched->Cancel(request_id); };
  resp.stream = [=](const StreamWrite& write) {
    const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
    auto event = [&](const json& choice_or_null, const json* usage_json) {
      json c = {{"id", id}, {"object", chunk_object}, {"created", created}, {"model", model}};
      c["choices"] = choice_or_null.is_null() ? json::array() : json::array({choice_or_null});
      if (usage_json != nullptr) c["usage"] = *usage_json;
      return write("data: " + c.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n");
    };
    auto piece = [&](const std::string& text, const json& reason) {
      json choice = {{"index", 0}, {"finish_reason", reason}};
      if (chat) {
        choice["delta"] = reason.is_null() ? json{{"content", text}} : json::object();
      } else {
        choice["text"] = text;
        choice["logprobs"] = nullptr;
      }
      return event(choice, nullptr);
    };
    bool ok = true;
    if (chat) {
      ok = event(json{{"index", 0},
                      {"delta", {{"role", "assistant"}, {"content", ""}}},
                      {"finish_reason", nullptr}},
                 nullptr);
    }
    for (;;) {
      std::string text;
      bool done = false;
      GenerationResult r;
      if (ok) {
        std::unique_lock<std::mutex> lock(ch->mu);
        ch->cv.wait(lock, [&] { return ch->done || !ch->pending.empty(); });
        text.swap(ch->pending);
        done = ch->done;
        if (done) r = ch->result;
      }
      if (ok && !text.empty()) ok = piece(text, nullptr);
      if (!ok) {
        sched->Cancel(request_id);  // the client is gone: free the slot
        return;
      }
      if (!done) continue;
      if (r.finish_reason == FinishReason::kError || r.finish_reason == FinishReason::kCancelled) {
        const std::string msg = r.finish_reason == FinishReason::kError
                                    ? r.error.message()
                                    : "the request was cancelled (server shutting down)";
        write("data: " + ErrorJson(msg, "server_error") + "\n\n");
      } else {
        piece("", finish(r));
        if (include_usage) {
          const json u = usage(r);
          event(json(nullptr), &u);
        }
      }
      write("data: [DONE]\n\n");
      return;
    }
  };
  return resp;
}

}  // namespace mamba::server

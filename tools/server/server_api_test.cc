// SPDX-License-Identifier: MIT
// mamba-server's API in process on an ephemeral 127.0.0.1 port with the bundled demo model:
// /health, /v1/models, /metrics, completions and chat (whole and streamed, equal to the
// single-sequence Generate text), OpenAI error bodies for hostile input (malformed JSON, wrong
// types, absurd max_tokens, huge bodies, garbage on the socket), API keys, 429 beyond the queue,
// and a client that disconnects mid-stream freeing its slot.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "api.h"
#include "engine/generate.h"
#include "http_transport.h"
#include "model_chat_template.h"

namespace mamba::server {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
const fs::path kDemo = fs::path(MAMBA_SOURCE_DIR) / "models";

// Model, tokenizer, scheduler, API and transport, serving on a background thread.
class TestServer {
 public:
  TestServer(const Model& model, const Tokenizer& tok, SchedulerOptions sched_opt,
             ApiOptions api_opt, size_t max_body = 1 << 20)
      : scheduler_(model, &tok, nullptr, sched_opt), api_(scheduler_, tok, api_opt) {
    HttpServerOptions o;
    o.port = 0;
    o.max_body_bytes = max_body;
    o.threads = 8;
    o.error_body = [](int status, const std::string& m) {
      return ErrorJson(m, ErrorTypeForStatus(status));
    };
    http_.emplace(o);
    api_.Register(*http_);
    const Status st = http_->Bind();
    EXPECT_TRUE(st.ok()) << st.ToString();
    thread_ = std::thread([this] { http_->Run(); });
  }
  ~TestServer() {
    http_->Stop();
    thread_.join();
  }
  int port() const { return http_->port(); }
  BatchScheduler& scheduler() { return scheduler_; }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(60, 0);
    return c;
  }

 private:
  BatchScheduler scheduler_;
  Api api_;
  std::optional<HttpServer> http_;
  std::thread thread_;
};

// Sends `raw` on a fresh connection and returns everything read until the server closes it
// (or `max_bytes` arrived, then the socket is closed by us). With `half_close` our side is shut
// for writing after `raw`.
std::string RawExchange(int port, const std::string& raw, size_t max_bytes = 1 << 20,
                        bool half_close = true) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The "data: " payloads of a server-sent-event body.
std::vector<std::string> Events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

class ServerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = Model::Load(kDemo.string());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value().release();
    auto t = Tokenizer::FromFile((kDemo / "tokenizer.json").string());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tok_ = new Tokenizer(std::move(t).value());
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete model_;
  }
  SchedulerOptions Sched(int slots = 4, int queue = 16) {
    SchedulerOptions o;
    o.max_slots = slots;
    o.max_queue = queue;
    o.eos_ids = {model_->config().eos_token_id};
    return o;
  }
  // Greedy single-sequence text for `prompt`.
  std::string Reference(const std::string& prompt, int n, std::vector<std::string> stop = {}) {
    Session session(*model_, nullptr);
    SamplerParams p;
    p.temperature = 0;
    Sampler sampler = std::move(Sampler::Create(p)).value();
    std::vector<int32_t> history;
    GenerateOptions opt;
    opt.n_predict = n;
    opt.eos_ids = {model_->config().eos_token_id};
    opt.stop = std::move(stop);
    std::string text;
    auto r = Generate(session, sampler, tok_, tok_->Encode(prompt), history, opt,
                      [&](int32_t, std::string_view t) {
                        text.append(t);
                        return true;
                      });
    EXPECT_TRUE(r.ok());
    return text;
  }

  static Model* model_;
  static Tokenizer* tok_;
};
Model* ServerApiTest::model_ = nullptr;
Tokenizer* ServerApiTest::tok_ = nullptr;

TEST_F(ServerApiTest, HealthModelsMetrics) {
  ApiOptions a;
  a.model_name = "demo";
  TestServer s(*model_, *tok_, Sched(), a);
  httplib::Client c = s.Client();
  auto r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
  r = c.Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["data"][0]["id"], "demo");
  r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("<textarea id=\"prompt\""), std::string::npos);
  EXPECT_EQ(r->body.find("http://"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_EQ(r->body.find("https://"), std::string::npos);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("mamba_active_sequences 0"), std::string::npos);
  EXPECT_NE(r->body.find("mamba_queue_depth 0"), std::string::npos);
  EXPECT_NE(r->body.find("mamba_tokens_per_second"), std::string::npos);
}

TEST_F(ServerApiTest, CompletionWholeAndStreamedEqualGenerate) {
  TestServer s(*model_, *tok_, Sched(), ApiOptions{});
  httplib::Client c = s.Client();
  const std::string expected = Reference("ROMEO:", 24);
  ASSERT_FALSE(expected.empty());
  const json req = {{"model", "x"},     {"prompt", "ROMEO:"}, {"max_tokens", 24},
                    {"temperature", 0}, {"unknown_field", 1}, {"user", "someone"}};
  auto r = c.Post("/v1/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], expected);
  EXPECT_EQ(j["usage"]["prompt_tokens"], tok_->Encode("ROMEO:").size());
  EXPECT_EQ(
      j["usage"]["total_tokens"].get<int64_t>(),
      j["usage"]["prompt_tokens"].get<int64_t>() + j["usage"]["completion_tokens"].get<int64_t>());
  const std::string reason = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(reason == "length" || reason == "stop") << reason;

  json sreq = req;
  sreq["stream"] = true;
  sreq["stream_options"] = {{"include_usage", true}};
  r = c.Post("/v1/completions", sreq.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const std::vector<std::string> events = Events(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  json last_choice, usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json e = json::parse(events[i]);
    if (e.contains("usage")) usage = e["usage"];
    if (e["choices"].empty()) continue;
    text += e["choices"][0]["text"].get<std::string>();
    last_choice = e["choices"][0];
  }
  EXPECT_EQ(text, expected);
  EXPECT_EQ(last_choice["finish_reason"], reason);
  EXPECT_EQ(usage, j["usage"]);

  // A stop string cuts the text as in Generate.
  const std::string stop = expected.substr(5, 3);
  json stop_req = req;
  stop_req["stop"] = {stop};
  r = c.Post("/v1/completions", stop_req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["choices"][0]["text"], Reference("ROMEO:", 24, {stop}));
  EXPECT_EQ(json::parse(r->body)["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServerApiTest, ChatWholeAndStreamed) {
  TestServer s(*model_, *tok_, Sched(), ApiOptions{});
  httplib::Client c = s.Client();
  const json req = {{"messages",
                     {{{"role", "system"}, {"content", "You are a poet."}},
                      {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Hello"}}}}}}},
                    {"max_tokens", 16},
                    {"temperature", 0}};
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  const std::string content = j["choices"][0]["message"]["content"];
  EXPECT_EQ(content, Reference("You are a poet.\n\nUser: Hello\n\nAssistant:", 16, {"\nUser:"}));

  json sreq = req;
  sreq["stream"] = true;
  r = c.Post("/v1/chat/completions", sreq.dump(), "application/json");
  ASSERT_TRUE(r);
  const std::vector<std::string> events = Events(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json e = json::parse(events[i]);
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    const json& d = e["choices"][0]["delta"];
    if (d.contains("content")) text += d["content"].get<std::string>();
  }
  EXPECT_EQ(text, content);
  EXPECT_EQ(json::parse(events[events.size() - 2])["choices"][0]["finish_reason"],
            j["choices"][0]["finish_reason"]);
}

TEST(ChatTemplateTest, DefaultAndFromJson) {
  const std::vector<ChatMessage> msgs = {
      {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"tool", "42"}};
  EXPECT_EQ(*ChatTemplate().Render(msgs),
            "Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\ntool: 42\n\nAssistant:");
  auto t = ChatTemplate::FromJson(
      R"({"user": "<u>{content}</u>", "generation_prompt": "<a>", "stop": ["</a>"]})", "t.json");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t->Render({{"user", "x"}}), "<u>x</u><a>");
  EXPECT_EQ(t->stop, std::vector<std::string>{"</a>"});
  auto bad = ChatTemplate::FromJson(R"({"user": 3})", "t.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'user'"), std::string::npos);
  EXPECT_FALSE(ChatTemplate::FromJson("[", "t.json").ok());
  EXPECT_FALSE(ChatTemplate::FromFile("/nonexistent/t.json").ok());
}

// httplib listens with a backlog of 5; the transport raises it so that a burst of clients is not
// delayed by dropped SYNs (retried after 1 s). `ss` (iproute2) shows a listener's backlog.
TEST_F(ServerApiTest, ListenBacklogIsLarge) {
  TestServer s(*model_, *tok_, Sched(), ApiOptions{});
  const std::string cmd = "ss -ltnH 'sport = :" + std::to_string(s.port()) + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) GTEST_SKIP() << "no ss";
  char buf[512] = {0};
  const size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  pclose(p);
  std::istringstream line(std::string(buf, n));
  std::string state, recv_q, send_q;
  line >> state >> recv_q >> send_q;
  if (state != "LISTEN") GTEST_SKIP() << "ss (iproute2) not available: '" << buf << "'";
  EXPECT_GT(std::stoi(send_q), 5) << buf;
}

TEST(ChatTemplateTest, Jinja) {
  const std::vector<ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Hi"}};
  auto t = ChatTemplate::FromJinja(
      "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content | trim }}{{ eos_token }}\n"
      "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
      "test", "<s>", "</s>");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t->Render(msgs), "<s><|system|>Be brief.</s>\n<|user|>Hi</s>\n<|assistant|>");
  EXPECT_TRUE(t->stop.empty());
  EXPECT_EQ(t->origin, "test");
  auto raising = ChatTemplate::FromJinja(
      "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}",
      "test", "", "");
  ASSERT_TRUE(raising.ok());
  auto r = raising->Render(msgs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("System role not supported"), std::string::npos);
  auto bad = ChatTemplate::FromJinja("{% for %}", "'x.jinja'", "", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("'x.jinja': line 1, column 8:", 0), 0u)
      << bad.status().message();
}

// Writes `files` (name -> content) into a fresh temporary folder.
fs::path TempModelDir(const std::string& name,
                      const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path dir = fs::temp_directory_path() / ("mamba_chat_template_" + name + "_" +
                                                    std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [file, text] : files) {
    std::ofstream(dir / file, std::ios::binary) << text;
  }
  return dir;
}

TEST_F(ServerApiTest, FindsTheModelsChatTemplate) {
  // tokenizer_config.json: a string; a list of {name, template} ("default" wins); none.
  fs::path d = TempModelDir("string", {{"tokenizer_config.json",
      R"({"chat_template": "{{ bos_token }}x", "bos_token": {"content": "<B>"}, "eos_token": "<E>"})"}});
  auto found = FindModelChatTemplate(d.string(), nullptr);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->source, "{{ bos_token }}x");
  EXPECT_NE((*found)->origin.find("tokenizer_config.json"), std::string::npos);
  GenerationTokenIds ids;
  ids.bos = 0;
  ids.eos = {0};
  SpecialTokenTexts special = FindSpecialTokenTexts(d.string(), nullptr, *tok_, ids);
  EXPECT_EQ(special.bos, "<B>");
  EXPECT_EQ(special.eos, "<E>");
  fs::remove_all(d);

  d = TempModelDir("list", {{"tokenizer_config.json",
      R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})"}});
  found = FindModelChatTemplate(d.string(), nullptr);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->source, "D");
  // No bos_token/eos_token keys: the tokenizer's text of the ids (GPT-NeoX: id 0).
  special = FindSpecialTokenTexts(d.string(), nullptr, *tok_, ids);
  EXPECT_EQ(special.bos, "<|endoftext|>");
  EXPECT_EQ(special.eos, "<|endoftext|>");
  fs::remove_all(d);

  // chat_template.jinja comes first.
  d = TempModelDir("file", {{"chat_template.jinja", "J"}, {"tokenizer_config.json",
                                                           R"({"chat_template": "C"})"}});
  found = FindModelChatTemplate(d.string(), nullptr);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->source, "J");
  fs::remove_all(d);

  d = TempModelDir("none", {{"tokenizer_config.json", R"({"model_max_length": 2048})"}});
  found = FindModelChatTemplate(d.string(), nullptr);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  fs::remove_all(d);

  d = TempModelDir("bad", {{"tokenizer_config.json", R"({"chat_template": 3})"}});
  found = FindModelChatTemplate(d.string(), nullptr);
  EXPECT_FALSE(found.ok());
  fs::remove_all(d);
  EXPECT_FALSE(FindModelChatTemplate(fs::path(kDemo).string(), nullptr)->has_value());
}

TEST_F(ServerApiTest, ChatThroughAJinjaTemplate) {
  ApiOptions opt;
  auto t = ChatTemplate::FromJinja(
      "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
      "{% endif %}{{ m.role | upper }}: {{ m.content }}\n{% endfor %}"
      "{% if add_generation_prompt %}ASSISTANT:{% endif %}",
      "test", "", "");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  opt.chat_template = std::move(t).value();
  TestServer s(*model_, *tok_, Sched(), opt);
  httplib::Client c = s.Client();
  auto r = c.Post("/v1/chat/completions",
                  R"({"messages": [{"role": "user", "content": "ROMEO"}], "max_tokens": 8,
                      "temperature": 0})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  // The prompt is the template's rendering, token for token.
  EXPECT_EQ(j["usage"]["prompt_tokens"].get<size_t>(), tok_->Encode("USER: ROMEO\nASSISTANT:").size());
  r = c.Post("/v1/chat/completions",
             R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})",
             "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json e = json::parse(r->body);
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["param"], "messages");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("Conversation roles must alternate"),
            std::string::npos)
      << r->body;
}

TEST_F(ServerApiTest, HostileInputsGetOpenAiErrors) {
  TestServer s(*model_, *tok_, Sched(), ApiOptions{}, /*max_body=*/64 * 1024);
  httplib::Client c = s.Client();
  struct Case {
    std::string path, body;
    int status;
    std::string param;  // expected error.param ("" = null)
  };
  const std::vector<Case> cases = {
      {"/v1/completions", "{\"prompt\": \"a\",", 400, ""},
      {"/v1/completions", "[1, 2]", 400, ""},
      {"/v1/completions", "", 400, ""},
      {"/v1/completions", R"({"max_tokens": 4})", 400, "prompt"},
      {"/v1/completions", R"({"prompt": 5})", 400, "prompt"},
      {"/v1/completions", R"({"prompt": [1, -2]})", 400, "prompt"},
      {"/v1/completions", R"({"prompt": [1, 99999999]})", 400, ""},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": -1})", 400, "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 0})", 400, "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 1000000000})", 400, "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 1e300})", 400, "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": 99999999999999999999})", 400,
       "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "max_tokens": "10"})", 400, "max_tokens"},
      {"/v1/completions", R"({"prompt": "a", "temperature": "hot"})", 400, "temperature"},
      {"/v1/completions", R"({"prompt": "a", "temperature": -1})", 400, "temperature"},
      {"/v1/completions", R"({"prompt": "a", "top_p": 2})", 400, "top_p"},
      {"/v1/completions", R"({"prompt": "a", "n": 2})", 400, "n"},
      {"/v1/completions", R"({"prompt": "a", "stream": "yes"})", 400, "stream"},
      {"/v1/completions", R"({"prompt": "a", "stop": 3})", 400, "stop"},
      {"/v1/completions", R"({"prompt": "a", "stop": ["a","b","c","d","e"]})", 400, "stop"},
      {"/v1/completions", R"({"prompt": "a", "seed": 1.5})", 400, "seed"},
      {"/v1/chat/completions", R"({"messages": []})", 400, "messages"},
      {"/v1/chat/completions", R"({"messages": "hi"})", 400, "messages"},
      {"/v1/chat/completions", R"({"messages": [{"content": "hi"}]})", 400, "messages"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": 7}]})", 400,
       "messages"},
  };
  for (const Case& k : cases) {
    auto r = c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << k.body;
    EXPECT_EQ(r->status, k.status) << k.body << " -> " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << k.body << " -> " << r->body;
    EXPECT_EQ(j["error"]["type"], "invalid_request_error") << k.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(j["error"]["param"], k.param.empty() ? json(nullptr) : json(k.param)) << k.body;
  }
  // A body over the limit: 413 with an OpenAI error body.
  const std::string huge = R"({"prompt": ")" + std::string(200 * 1024, 'a') + "\"}";
  auto r = c.Post("/v1/completions", huge, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("error")) << r->body;
  // The same limit holds for a chunked body (no Content-Length).
  std::string chunked =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", huge.size());
  chunked += size_line + huge + "\r\n0\r\n\r\n";
  // (The server may hang up while the client still sends; then the 413 is lost in the reset.)
  const std::string chunked_reply = RawExchange(s.port(), chunked, 1 << 20, /*half_close=*/false);
  EXPECT_TRUE(chunked_reply.empty() || chunked_reply.find(" 413 ") != std::string::npos)
      << chunked_reply.substr(0, 200);
  EXPECT_EQ(chunked_reply.find(" 200 "), std::string::npos);
  // And with httplib's client, which sends a chunked body from a content provider.
  auto big = c.Post(
      "/v1/completions", huge.size(),
      [&huge](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(huge.data() + offset, std::min<size_t>(length, 4096));
        return true;
      },
      "application/json");
  if (big) {
    EXPECT_EQ(big->status, 413) << big->body.substr(0, 200);
  }
  auto chunked_big = c.Post(
      "/v1/completions",
      [&huge, sent = size_t{0}](size_t, httplib::DataSink& sink) mutable {
        if (sent >= huge.size()) {
          sink.done();
          return true;
        }
        const size_t n = std::min<size_t>(4096, huge.size() - sent);
        sink.write(huge.data() + sent, n);
        sent += n;
        return true;
      },
      "application/json");
  if (chunked_big) {
    EXPECT_EQ(chunked_big->status, 413) << chunked_big->body.substr(0, 200);
  }
  // Unknown path and wrong method.
  r = c.Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "not_found_error");
  r = c.Get("/v1/completions");
  ASSERT_TRUE(r);
  EXPECT_GE(r->status, 400);

  // Garbage and truncated requests on raw sockets; the server answers or hangs up, and lives.
  // (A half-closed socket may get no answer at all: httplib drops responses to dead peers.)
  const std::string hello = RawExchange(s.port(), "HELLO\r\n\r\n");
  EXPECT_TRUE(hello.empty() || hello.find(" 400 ") != std::string::npos) << hello;
  RawExchange(s.port(), std::string(100000, '\x01'));
  RawExchange(s.port(),
              "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"pro");
  RawExchange(s.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -7\r\n\r\n");
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(s.scheduler().Stats().active, 0);
}

TEST_F(ServerApiTest, ApiKeyIsRequiredWhenSet) {
  ApiOptions a;
  a.api_key = "sekret";
  TestServer s(*model_, *tok_, Sched(), a);
  httplib::Client c = s.Client();
  const std::string body = R"({"prompt": "a", "max_tokens": 2})";
  auto r = c.Post("/v1/completions", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "invalid_api_key");
  r = c.Get("/v1/models", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Post("/v1/completions", {{"Authorization", "Bearer sekret"}}, body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerApiTest, BusyServerAnswers429) {
  TestServer s(*model_, *tok_, Sched(/*slots=*/1, /*queue=*/0), ApiOptions{});
  // Occupy the only slot: the worker waits inside this request's callback.
  std::promise<void> started, release;
  std::shared_future<void> release_f = release.get_future().share();
  std::promise<void> done;
  bool first = true;
  GenerationRequest g;
  g.prompt = tok_->Encode("ROMEO:");
  g.sampling.temperature = 0;
  g.max_tokens = 100000;
  g.ignore_eos = true;
  g.on_text = [&](std::string_view) {
    if (first) {
      first = false;
      started.set_value();
      release_f.wait();
    }
    return false;
  };
  g.on_done = [&](const GenerationResult&) { done.set_value(); };
  ASSERT_EQ(s.scheduler().Submit(std::move(g)).kind, Admission::kAccepted);
  started.get_future().wait();
  httplib::Client c = s.Client();
  auto r = c.Post("/v1/completions", R"({"prompt": "a", "max_tokens": 2})", "application/json");
  release.set_value();
  done.get_future().wait();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "rate_limit_error");
}

TEST_F(ServerApiTest, ClientDisconnectMidStreamFreesSlot) {
  ApiOptions a;
  a.max_tokens_limit = 10000000;
  TestServer s(*model_, *tok_, Sched(/*slots=*/2), a);
  const std::string body =
      R"({"prompt": "ROMEO:", "max_tokens": 10000000, "ignore_eos": true, "stream": true})";
  const std::string raw =
      "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  // Read a little of the stream, then hang up.
  const std::string got = RawExchange(s.port(), raw, /*max_bytes=*/2000, /*half_close=*/false);
  EXPECT_NE(got.find("data: "), std::string::npos) << "[" << got << "]";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.scheduler().Stats().active != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const SchedulerStats st = s.scheduler().Stats();
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.requests_finished, 1);
  EXPECT_LT(st.generated_tokens, 10000000);
}

}  // namespace
}  // namespace mamba::server

// packer.cpp: the data-packing rules. Called on the port strand for each serial read; no I/O, no
// clock. A frame is sent when (a) packing_length bytes are held, (b) the delimiter (pair) arrives —
// with 1 or 2 more bytes for delimiter_plus_1/2, without it for strip_delimiter — or (c) the
// caller's force-transmit timer fires. The buffer never exceeds kMaxPackingLength (the device's
// buffer).
#include "modes/common/packer.h"

#include "core/limits.h"

namespace sg::modes::common {

using config::DelimiterProcess;

Packer::Packer(const config::PackingSettings& settings)
    : settings_(settings),
      limit_(settings.packing_length != 0 ? settings.packing_length
                                          : core::limits::kMaxPackingLength) {
    buf_.reserve(limit_);
}

std::optional<std::chrono::milliseconds> Packer::force_transmit() const {
    if (settings_.force_transmit_ms == 0) return std::nullopt;
    return std::chrono::milliseconds(settings_.force_transmit_ms);
}

void Packer::send(std::size_t n, std::size_t strip, FrameSink& sink) {
    // Frame = buf_[0, n - strip); the stripped delimiter bytes are dropped with it.
    if (n > strip) sink.on_frame(std::span<const std::byte>(buf_.data(), n - strip));
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    trailing_ = -1;
}

void Packer::feed(std::span<const std::byte> in, FrameSink& sink) {
    if (passthrough()) {
        if (!in.empty()) sink.on_frame(in);
        return;
    }
    const bool delim = settings_.delimiter_1.has_value();
    const auto d1 = static_cast<std::byte>(settings_.delimiter_1.value_or(0));
    const auto d2 = static_cast<std::byte>(settings_.delimiter_2.value_or(0));
    const bool pair = settings_.delimiter_2.has_value();
    for (std::byte b : in) {
        buf_.push_back(b);
        if (trailing_ > 0) {
            if (--trailing_ == 0) {
                send(buf_.size(), 0, sink);
                continue;
            }
        } else if (delim && trailing_ < 0) {
            const std::size_t n = buf_.size();
            bool matched = false;
            if (pair) {
                matched = n >= 2 && buf_[n - 2] == d1 && buf_[n - 1] == d2;
            } else {
                matched = buf_[n - 1] == d1;
            }
            if (matched) {
                const std::size_t dlen = pair ? 2 : 1;
                switch (settings_.delimiter_process) {
                    case DelimiterProcess::DoNothing: send(n, 0, sink); continue;
                    case DelimiterProcess::StripDelimiter: send(n, dlen, sink); continue;
                    case DelimiterProcess::DelimiterPlus1: trailing_ = 1; break;
                    case DelimiterProcess::DelimiterPlus2: trailing_ = 2; break;
                }
            }
        }
        if (buf_.size() >= limit_) send(buf_.size(), 0, sink);
    }
}

void Packer::flush(FrameSink& sink) {
    if (!buf_.empty()) send(buf_.size(), 0, sink);
}

void Packer::discard() {
    buf_.clear();
    trailing_ = -1;
}

}  // namespace sg::modes::common

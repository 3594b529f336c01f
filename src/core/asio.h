// asio.h: the Asio vocabulary of the project (STYLE.md §3.3–3.4). One io_context; each port runs on
// its own strand; coroutine awaits use `use_nothrow`, so a closed peer is a value, not an
// exception.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace sg {
namespace asio = boost::asio;
}

namespace sg::core {

using Executor = asio::any_io_executor;
using Strand = asio::strand<asio::io_context::executor_type>;

/// `co_await op(..., use_nothrow)` yields a tuple (error_code, results...) instead of throwing.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

template <typename T = void>
using Task = asio::awaitable<T>;

}  // namespace sg::core

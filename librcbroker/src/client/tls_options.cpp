#include "rcbroker/client/tls_options.hpp"

#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>

namespace rcbroker::client {

std::shared_ptr<boost::asio::ssl::context> tls_context_for(const transport::endpoint& where,
                                                           const tls_options& options) {
  if (where.type != transport::endpoint::kind::tls)
    return nullptr;
  return transport::make_tls_client_context({options.ca_file, options.cert_file, options.key_file});
}

} // namespace rcbroker::client

#include <p2panda/error.hpp>
#include <p2panda/result.hpp>

#include <cstdio>

namespace p2panda {
namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "p2panda"; }
  std::string message(int code) const override {
    return std::string(errc_name(static_cast<Errc>(code)));
  }
};

}  // namespace

std::string_view errc_name(Errc code) {
  switch (code) {
#define P2PANDA_ERRC_NAME(name) \
  case Errc::name:              \
    return #name;
    P2PANDA_ERRC_NAME(CborTruncated)
    P2PANDA_ERRC_NAME(CborNonCanonical)
    P2PANDA_ERRC_NAME(CborIndefiniteLength)
    P2PANDA_ERRC_NAME(CborTagNotAllowed)
    P2PANDA_ERRC_NAME(CborReservedValue)
    P2PANDA_ERRC_NAME(CborTypeMismatch)
    P2PANDA_ERRC_NAME(CborInvalidUtf8)
    P2PANDA_ERRC_NAME(CborTooDeep)
    P2PANDA_ERRC_NAME(CborTrailingBytes)
    P2PANDA_ERRC_NAME(PostcardTruncated)
    P2PANDA_ERRC_NAME(PostcardNonCanonical)
    P2PANDA_ERRC_NAME(PostcardOverflow)
    P2PANDA_ERRC_NAME(PostcardInvalidValue)
    P2PANDA_ERRC_NAME(PostcardTrailingBytes)
    P2PANDA_ERRC_NAME(FrameTooLarge)
    P2PANDA_ERRC_NAME(InvalidHex)
    P2PANDA_ERRC_NAME(InvalidBase32)
    P2PANDA_ERRC_NAME(InvalidLength)
    P2PANDA_ERRC_NAME(HeaderMalformed)
    P2PANDA_ERRC_NAME(ExtensionsMalformed)
    P2PANDA_ERRC_NAME(ExtensionsUnsupported)
    P2PANDA_ERRC_NAME(SignatureMissing)
    P2PANDA_ERRC_NAME(SignatureInvalid)
    P2PANDA_ERRC_NAME(VersionUnsupported)
    P2PANDA_ERRC_NAME(PayloadHashMissing)
    P2PANDA_ERRC_NAME(PayloadHashUnexpected)
    P2PANDA_ERRC_NAME(PayloadSizeMismatch)
    P2PANDA_ERRC_NAME(PayloadHashMismatch)
    P2PANDA_ERRC_NAME(BacklinkMissing)
    P2PANDA_ERRC_NAME(BacklinkUnexpected)
    P2PANDA_ERRC_NAME(BacklinkMismatch)
    P2PANDA_ERRC_NAME(SeqNumNonIncremental)
    P2PANDA_ERRC_NAME(AuthorMismatch)
    P2PANDA_ERRC_NAME(LogIdMismatch)
    P2PANDA_ERRC_NAME(ExtensionsMissing)
    P2PANDA_ERRC_NAME(EphemeralMalformed)
    P2PANDA_ERRC_NAME(StoreOpenFailed)
    P2PANDA_ERRC_NAME(StoreSchemaTooNew)
    P2PANDA_ERRC_NAME(StoreCorrupt)
    P2PANDA_ERRC_NAME(StoreFull)
    P2PANDA_ERRC_NAME(StoreReadOnly)
    P2PANDA_ERRC_NAME(StoreIo)
    P2PANDA_ERRC_NAME(StoreBusy)
    P2PANDA_ERRC_NAME(StoreClosed)
    P2PANDA_ERRC_NAME(StoreFailed)
    P2PANDA_ERRC_NAME(OrdererFull)
    P2PANDA_ERRC_NAME(TooManyDependencies)
    P2PANDA_ERRC_NAME(SyncProtocolViolation)
    P2PANDA_ERRC_NAME(SyncTimeout)
    P2PANDA_ERRC_NAME(SyncLagging)
    P2PANDA_ERRC_NAME(SyncClosedUnexpectedly)
    P2PANDA_ERRC_NAME(HandshakeRejected)
    P2PANDA_ERRC_NAME(HandshakeProofInvalid)
    P2PANDA_ERRC_NAME(MessageDecodeFailed)
    P2PANDA_ERRC_NAME(NodeShutDown)
    P2PANDA_ERRC_NAME(InvalidArgument)
    P2PANDA_ERRC_NAME(Io)
    P2PANDA_ERRC_NAME(ConnectionClosed)
    P2PANDA_ERRC_NAME(ConnectionLost)
    P2PANDA_ERRC_NAME(TimedOut)
    P2PANDA_ERRC_NAME(TlsRefused)
    P2PANDA_ERRC_NAME(StreamReset)
    P2PANDA_ERRC_NAME(TooManyConnections)
    P2PANDA_ERRC_NAME(Unreachable)
    P2PANDA_ERRC_NAME(Cancelled)
#undef P2PANDA_ERRC_NAME
  }
  return "Unknown";
}

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::string Error::to_string() const {
  return std::string(errc_name(code_)) + ": " + message_;
}

namespace detail {
void bad_result_access(const char* what) {
  std::fprintf(stderr, "p2panda: Result accessed against its REQUIRES: %s\n", what);
  std::abort();
}
}  // namespace detail

}  // namespace p2panda

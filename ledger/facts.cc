#include "ledger/facts.h"

#include <algorithm>
#include <bit>

namespace ledger {

static_assert(std::endian::native == std::endian::little, "facts are read in place as LE");

namespace {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <typename T>
  void Fixed(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_->append(b, sizeof(T));
  }
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void I32(int32_t v) { Fixed(v); }
  void U32(uint32_t v) { Fixed(v); }
  void U64(uint64_t v) { Fixed(v); }
  template <typename E>
  void Enum(E e) {
    U8(static_cast<uint8_t>(e));
  }
  void Str(capnp::Text::Reader t) {
    if (t.size() < kLongStr) {
      Fixed(static_cast<uint16_t>(t.size()));
    } else {
      Fixed(kLongStr);
      U32(static_cast<uint32_t>(t.size()));
    }
    out_->append(t.cStr(), t.size());
  }
  void Str32(capnp::Text::Reader t) {
    U32(static_cast<uint32_t>(t.size()));
    out_->append(t.cStr(), t.size());
  }
  void Person(schema::Beneficiary::Reader b) {
    const auto niss = b.getNiss();
    uint64_t v = 0;
    bool digits = niss.size() == 11;
    for (char c : niss) {
      if (c < '0' || c > '9') digits = false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (digits) {
      U64(v);
    } else {
      U64(kOddNiss);
      Str(niss);
    }
    I32(b.getBirthDay());
    U8(b.getBim() ? 1 : 0);
  }
  void Facilitators(capnp::List<schema::Facilitator>::Reader list) {
    U32(list.size());
    for (auto f : list) {
      Str(f.getProviderId());
      Enum(f.getRole());
    }
  }

 private:
  std::string* out_;
};

}  // namespace

void AppendFactRecord(schema::Event::Reader ev, uint64_t void_target, std::string* out) {
  using B = schema::Event::Body;
  Writer w(out);
  const auto body = ev.getBody();
  w.Enum(body.which());
  w.I32(ev.getOccurredOn());
  switch (body.which()) {
    case B::NETWORK_REGISTERED: {
      auto b = body.getNetworkRegistered();
      w.Str(b.getNetworkId());
      w.Enum(b.getPopulation());
      return;
    }
    case B::PROVIDER_ENROLLED: {
      auto b = body.getProviderEnrolled();
      w.Str(b.getProviderId());
      w.Str(b.getNetworkId());
      return;
    }
    case B::PROVIDER_LEFT: {
      auto b = body.getProviderLeft();
      w.Str(b.getProviderId());
      w.Str(b.getNetworkId());
      return;
    }
    case B::BUDGET_ALLOCATED:
    case B::INVOICE_ISSUED:
      return;
    case B::RULESET_PUBLISHED:
      w.Str32(body.getRulesetPublished().getRulesetJson());
      return;
    case B::ASSESSMENT_RECORDED: {
      auto b = body.getAssessmentRecorded();
      w.Str(b.getNetworkId());
      w.Person(b.getBeneficiary());
      return;
    }
    case B::EXCEPTION_GRANTED: {
      auto b = body.getExceptionGranted();
      w.Str(b.getProviderId());
      w.Str(b.getNetworkId());
      w.Person(b.getBeneficiary());
      w.Enum(b.getFunction());
      return;
    }
    case B::SESSION_INDIVIDUAL: {
      auto b = body.getSessionIndividual();
      w.Str(b.getProviderId());
      w.Str(b.getNetworkId());
      w.Person(b.getBeneficiary());
      w.Enum(b.getFunction());
      w.Enum(b.getLocation());
      w.Enum(b.getOrganiser());
      w.U8(b.getWithContext() ? 1 : 0);
      return;
    }
    case B::SESSION_GROUP: {
      auto b = body.getSessionGroup();
      w.Facilitators(b.getFacilitators());
      w.Str(b.getNetworkId());
      w.Enum(b.getFunction());
      w.I32(b.getMinutes());
      w.Enum(b.getLocation());
      w.Enum(b.getOrganiser());
      w.U32(b.getParticipants().size());
      for (auto p : b.getParticipants()) w.Person(p);
      return;
    }
    case B::COMMUNITY_INTERVENTION: {
      auto b = body.getCommunityIntervention();
      w.Facilitators(b.getFacilitators());
      w.Str(b.getNetworkId());
      w.I32(b.getMinutes());
      w.I32(b.getInteractionMinutes());
      w.I32(b.getParticipantCount());
      w.U8(b.getDefinedGroup() ? 1 : 0);
      return;
    }
    case B::SUPPORT_MISSION: {
      auto b = body.getSupportMission();
      w.Str(b.getProviderId());
      w.Str(b.getNetworkId());
      w.I32(b.getMinutes());
      return;
    }
    case B::CONCERTATION_HELD: {
      auto b = body.getConcertationHeld();
      w.Str(b.getNetworkId());
      w.Person(b.getBeneficiary());
      w.I32(b.getUnits());
      w.U32(b.getParticipants().size());
      for (auto p : b.getParticipants()) {
        w.Str(p.getProviderId());
        w.U8(p.getCareProvider() ? 1 : 0);
      }
      return;
    }
    case B::EVENT_VOIDED:
      w.U64(void_target);
      return;
  }
}

}  // namespace ledger

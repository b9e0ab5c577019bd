#include "projections/directory.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <tuple>

#include "ledger/bytes.h"

namespace ledger {

const char* PopulationName(Population p) {
  switch (p) {
    case Population::kChildren:
      return "children";
    case Population::kAdults:
      return "adults";
    case Population::kMixed:
      return "mixed";
    case Population::kUnknown:
      return "unregistered";
  }
  return "unregistered";
}

const char* ProfessionName(Role r) {
  switch (r) {
    case Role::kPsychologist:
      return "psychologist";
    case Role::kOrthopedagogue:
      return "orthopedagogue";
    case Role::kOther:
      return "other";
  }
  return "other";
}

std::vector<EnrolmentPeriod> EnrolmentPeriods(std::vector<EnrolmentEvent> events) {
  std::sort(events.begin(), events.end(), [](const EnrolmentEvent& a, const EnrolmentEvent& b) {
    return a.day != b.day ? a.day < b.day : a.seq < b.seq;
  });
  std::vector<EnrolmentPeriod> out;
  bool open = false;
  for (const EnrolmentEvent& e : events) {
    if (e.enrolled && !open) {
      out.push_back({e.day, std::nullopt, e.profession});
      open = true;
    } else if (!e.enrolled && open) {
      out.back().to = e.day;  // enrolled up to and including the day it left
      open = false;
    }
  }
  return out;
}

std::optional<CivilDay> FirstDifference(const std::vector<EnrolmentPeriod>& a,
                                        const std::vector<EnrolmentPeriod>& b) {
  auto enrolled = [](const std::vector<EnrolmentPeriod>& periods, CivilDay d) {
    return std::any_of(periods.begin(), periods.end(), [&](const EnrolmentPeriod& p) {
      return d >= p.from && (!p.to || d <= *p.to);
    });
  };
  // Being enrolled changes only on a period's first day and on the day after its last.
  std::vector<CivilDay> edges;
  for (const auto* periods : {&a, &b}) {
    for (const EnrolmentPeriod& p : *periods) {
      edges.push_back(p.from);
      if (p.to && *p.to < std::numeric_limits<CivilDay>::max()) edges.push_back(*p.to + 1);
    }
  }
  std::sort(edges.begin(), edges.end());
  for (CivilDay d : edges) {
    if (enrolled(a, d) != enrolled(b, d)) return d;
  }
  return std::nullopt;
}

std::vector<NetworkRecord> NetworkDirectory(const History& h) {
  std::map<std::string, NetworkRecord> by_id;
  for (const NetworkRegistration& r : h.registrations) {
    if (h.Voided(r.seq)) continue;
    const std::string& id = h.networks.Name(r.network);
    by_id.try_emplace(id, NetworkRecord{id, r.name, r.population});  // the first one holds
  }
  std::vector<NetworkRecord> out;
  out.reserve(by_id.size());
  for (auto& [id, record] : by_id) out.push_back(std::move(record));
  return out;
}

std::vector<EnrolmentRecord> EnrolmentDirectory(const History& h) {
  std::vector<EnrolmentRecord> out;
  for (const auto& [key, events] : h.enrolments) {
    std::vector<EnrolmentEvent> live;
    for (const EnrolmentEvent& e : events) {
      if (!h.Voided(e.seq)) live.push_back(e);
    }
    for (const EnrolmentPeriod& p : EnrolmentPeriods(std::move(live))) {
      out.push_back(
          {h.providers.Name(key.first), h.networks.Name(key.second), p.profession, p.from, p.to});
    }
  }
  std::sort(out.begin(), out.end(), [](const EnrolmentRecord& a, const EnrolmentRecord& b) {
    return std::tie(a.network_id, a.provider_id, a.enrolled_on) <
           std::tie(b.network_id, b.provider_id, b.enrolled_on);
  });
  return out;
}

std::vector<EnrolmentRecord> ProvidersListed(const std::vector<EnrolmentRecord>& periods,
                                             std::optional<CivilDay> on) {
  std::vector<EnrolmentRecord> out;
  for (const EnrolmentRecord& r : periods) {
    assert(periods.empty() || r.network_id == periods.front().network_id);
    if (on && !r.Covers(*on)) continue;
    if (!out.empty() && out.back().provider_id == r.provider_id) {
      out.back() = r;  // a later period of the same provider (periods come by start)
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::string EncodeNetwork(const NetworkRecord& r) {
  std::string s;
  PutStr(&s, r.network_id);
  PutStr(&s, r.name);
  s.push_back(static_cast<char>(r.population));
  return s;
}

bool DecodeNetwork(std::string_view bytes, NetworkRecord* r) {
  ByteReader in(bytes);
  r->network_id = in.Str();
  r->name = in.Str();
  const uint8_t population = in.U8();
  r->population = static_cast<Population>(population);
  return in.ok() && in.done() && population <= static_cast<uint8_t>(Population::kMixed);
}

std::string EncodePeriods(const std::vector<EnrolmentPeriod>& periods) {
  std::string s;
  PutBE32(&s, static_cast<uint32_t>(periods.size()));
  for (const EnrolmentPeriod& p : periods) {
    PutOrdered32(&s, p.from);
    s.push_back(p.to ? '\1' : '\0');
    PutOrdered32(&s, p.to.value_or(0));
    s.push_back(static_cast<char>(p.profession));
  }
  return s;
}

bool DecodePeriods(std::string_view bytes, std::vector<EnrolmentPeriod>* out) {
  ByteReader in(bytes);
  const uint32_t n = in.U32();
  if (!in.ok() || n > bytes.size()) return false;
  out->clear();
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    EnrolmentPeriod p;
    p.from = static_cast<int32_t>(in.U32() ^ 0x80000000u);
    const bool closed = in.U8() != 0;
    const int32_t to = static_cast<int32_t>(in.U32() ^ 0x80000000u);
    if (closed) p.to = to;
    const uint8_t role = in.U8();
    if (role > static_cast<uint8_t>(Role::kOther)) return false;
    p.profession = static_cast<Role>(role);
    out->push_back(p);
  }
  return in.ok() && in.done();
}

}  // namespace ledger

using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Dns;

namespace VirtualCluster.Gateway.Tests.Dns;

/// <summary>The responder's answers, byte for byte through an independent reader, and its handling of hostile packets.</summary>
public sealed class ZoneResponderTests
{
    private static ZoneResponder Responder(FixedRecords? records = null, Action<DnsServerOptions>? more = null)
    {
        var options = new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "VC.Example.", Addresses = ["203.0.113.7", "2001:db8::7", "198.51.100.9"] };
        more?.Invoke(options);
        Assert.True(new DnsServerOptionsValidator().Validate(null, options).Succeeded);
        return new ZoneResponder(options, records ?? new FixedRecords("hello", "api"), new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T12:00:00Z")));
    }

    private static DnsPackets.Response Ask(ZoneResponder responder, byte[] query, int? expectLimit = null)
    {
        var buffer = new byte[4096];
        var outcome = responder.Respond(query, buffer);
        Assert.True(outcome.Length > 0, outcome.Problem);
        Assert.True(outcome.Length <= (expectLimit ?? 512), $"{outcome.Length} bytes");
        return DnsPackets.Read(buffer.AsSpan(0, outcome.Length));
    }

    [Fact]
    public void A_service_name_answers_the_gateways_addresses_authoritatively()
    {
        var r = Ask(Responder(), DnsPackets.Query("Hello.vc.example", 1, id: 0xBEEF));
        Assert.Equal(0xBEEF, r.Id);
        Assert.Equal(0, r.Rcode);
        Assert.True(r.Authoritative);
        Assert.False(r.RecursionAvailable);
        Assert.Equal(["203.0.113.7", "198.51.100.9"], r.Answers.Select(a => a.Text));
        Assert.All(r.Answers, a => { Assert.Equal(1, a.Type); Assert.Equal(30u, a.Ttl); Assert.Equal("Hello.vc.example", a.Name); });

        var v6 = Ask(Responder(), DnsPackets.Query("api.vc.example", 28));
        Assert.Equal(["2001:db8::7"], v6.Answers.Select(a => a.Text));
    }

    [Fact]
    public void Unknown_names_are_NXDOMAIN_with_the_SOA_and_other_zones_are_refused()
    {
        var r = Ask(Responder(), DnsPackets.Query("nope.vc.example", 1));
        Assert.Equal(3, r.Rcode);
        Assert.True(r.Authoritative);
        Assert.Empty(r.Answers);
        var soa = Assert.Single(r.Authority);
        Assert.Equal(6, soa.Type);
        Assert.Equal("vc.example", soa.Name);
        Assert.Equal("ns1.vc.example hostmaster.vc.example", soa.Text);

        // Deeper than a service name: NXDOMAIN too.
        Assert.Equal(3, Ask(Responder(), DnsPackets.Query("x.hello.vc.example", 1)).Rcode);

        var outside = Ask(Responder(), DnsPackets.Query("example.com", 1));
        Assert.Equal(5, outside.Rcode);
        Assert.False(outside.Authoritative);
        Assert.Empty(outside.Answers);
        // A name that only ends like the zone is outside it.
        Assert.Equal(5, Ask(Responder(), DnsPackets.Query("xvc.example", 1)).Rcode);
    }

    [Fact]
    public void The_apex_has_SOA_and_NS_with_glue_and_a_known_name_without_the_type_is_NODATA()
    {
        var responder = Responder(more: o => o.NameServers = ["ns1.vc.example", "ns2.elsewhere.example"]);
        var soa = Ask(responder, DnsPackets.Query("vc.example", 6));
        Assert.Equal(0, soa.Rcode);
        Assert.Equal(6, Assert.Single(soa.Answers).Type);

        var ns = Ask(responder, DnsPackets.Query("vc.example", 2));
        Assert.Equal(["ns1.vc.example", "ns2.elsewhere.example"], ns.Answers.Select(a => a.Text));
        // Glue only for the name server inside the zone.
        Assert.Equal(["203.0.113.7", "198.51.100.9", "2001:db8::7"], ns.Additional.Select(a => a.Text));
        Assert.All(ns.Additional, a => Assert.Equal("ns1.vc.example", a.Name));
        Assert.Equal(["203.0.113.7", "198.51.100.9"], Ask(responder, DnsPackets.Query("ns1.vc.example", 1)).Answers.Select(a => a.Text));

        var nodata = Ask(responder, DnsPackets.Query("hello.vc.example", 16));
        Assert.Equal(0, nodata.Rcode);
        Assert.Empty(nodata.Answers);
        Assert.Equal(6, Assert.Single(nodata.Authority).Type);
    }

    [Fact]
    public void Acme_challenges_are_TXT_records_and_ANY_is_answered_minimally()
    {
        var records = new FixedRecords("hello");
        records.Texts["_acme-challenge.hello"] = ["token-digest-1"];
        var txt = Ask(Responder(records), DnsPackets.Query("_acme-challenge.hello.vc.example", 16));
        Assert.Equal("token-digest-1", Assert.Single(txt.Answers).Text);
        Assert.Equal(1u, txt.Answers[0].Ttl);

        var any = Ask(Responder(records), DnsPackets.Query("hello.vc.example", 255));
        Assert.All(any.Answers, a => Assert.Equal(1, a.Type));
        Assert.Equal(2, any.Answers.Count);
    }

    [Fact]
    public void EDNS_is_echoed_and_bounds_the_answer_and_other_versions_get_BADVERS()
    {
        var r = Ask(Responder(), DnsPackets.Query("hello.vc.example", 1, ednsPayload: 4096), expectLimit: 1232);
        var opt = Assert.Single(r.Additional);
        Assert.Equal(41, opt.Type);

        var bad = Ask(Responder(), DnsPackets.Query("hello.vc.example", 1, ednsPayload: 1232, ednsVersion: 1));
        Assert.Empty(bad.Answers);
        Assert.Equal(0, bad.Rcode); // the low bits; the OPT record carries the high ones
        var badOpt = Assert.Single(bad.Additional);
        Assert.Equal(1u, badOpt.Ttl >> 24); // extended rcode 1 << 4 = 16 = BADVERS
    }

    [Fact]
    public void Answers_that_do_not_fit_are_truncated_never_larger_than_512_bytes()
    {
        // The validator allows 8 addresses per family, which always fit in 512 bytes (12 + 255 + 4 + 8 x 28 = 495);
        // the writer's bound is checked here with more than that: 20 AAAA records after a 196-byte name.
        var many = Enumerable.Range(1, 20).Select(i => $"2001:db8::{i}").ToList();
        var longName = string.Join('.', Enumerable.Repeat(new string('a', 60), 3)) + ".vc.example";
        var responder = new ZoneResponder(new DnsServerOptions { Domain = "vc.example", Addresses = many, Listen = "127.0.0.1:0" },
            new AllNames(), TimeProvider.System);
        var buffer = new byte[4096];
        var small = responder.Respond(DnsPackets.Query(longName, 28), buffer);
        Assert.InRange(small.Length, 12, 512);
        var r = DnsPackets.Read(buffer.AsSpan(0, small.Length));
        Assert.True(r.Truncated);
        Assert.InRange(r.Answers.Count, 1, 19);

        // With EDNS 1232 all fit.
        var big = responder.Respond(DnsPackets.Query(longName, 28, ednsPayload: 1232), buffer);
        var full = DnsPackets.Read(buffer.AsSpan(0, big.Length));
        Assert.False(full.Truncated);
        Assert.Equal(20, full.Answers.Count);
    }

    [Fact]
    public void Malformed_queries_get_FORMERR_or_nothing_and_responses_are_never_answered()
    {
        var responder = Responder();
        var buffer = new byte[4096];
        Assert.Equal(0, responder.Respond(new byte[5], buffer).Length);
        var response = DnsPackets.Query("hello.vc.example", 1, flags: 0x8100);
        Assert.Equal(0, responder.Respond(response, buffer).Length);

        var twoQuestions = DnsPackets.Query("hello.vc.example", 1);
        twoQuestions[5] = 2;
        var formErr = responder.Respond(twoQuestions, buffer);
        Assert.Equal(12, formErr.Length);
        Assert.Equal(1, DnsPackets.Read(buffer.AsSpan(0, 12)).Rcode);

        var pointer = DnsPackets.Query("hello.vc.example", 1);
        pointer[12] = 0xC0; // a compression pointer in the question (pointing at itself: a loop)
        pointer[13] = 12;
        Assert.Equal(1, responder.Respond(pointer, buffer).Rcode);

        var notify = DnsPackets.Query("hello.vc.example", 1, flags: 0x2000); // opcode 4
        Assert.Equal(4, responder.Respond(notify, buffer).Rcode);

        // A label with a dot inside is not the service "hello.vc": NXDOMAIN, not a match.
        var dotted = DnsPackets.Query("xxxxxxxx.vc.example", 1);
        dotted[13 + 4] = (byte)'.';
        Assert.Equal(3, responder.Respond(dotted, buffer).Rcode);
    }

    [Fact]
    public void Random_bytes_truncations_and_mutations_never_throw_or_answer_big()
    {
        var responder = Responder();
        var random = new Random(14);
        var buffer = new byte[4096];
        var valid = DnsPackets.Query("hello.vc.example", 1, ednsPayload: 1232);
        var answered = 0;
        for (var i = 0; i < 100_000; i++)
        {
            byte[] packet;
            switch (i % 3)
            {
                case 0:
                    packet = new byte[random.Next(0, 600)];
                    random.NextBytes(packet);
                    break;
                case 1:
                    packet = valid[..random.Next(0, valid.Length + 1)];
                    break;
                default:
                    packet = (byte[])valid.Clone();
                    for (var flips = random.Next(1, 4); flips > 0; flips--) packet[random.Next(packet.Length)] = (byte)random.Next(256);
                    break;
            }
            var outcome = responder.Respond(packet, buffer);
            Assert.InRange(outcome.Length, 0, 1232);
            if (outcome.Length == 0) continue;
            answered++;
            // An answer echoes the query's id and never grows past what the query allowed.
            Assert.Equal(packet[0], buffer[0]);
            Assert.Equal(packet[1], buffer[1]);
            Assert.True((buffer[2] & 0x80) != 0, "QR must be set");
            if (packet.Length < 40) Assert.InRange(outcome.Length, 12, 512);
        }
        Assert.True(answered > 1000, $"only {answered} answered: the fuzzing did not reach the answer path");
        // Positive control: the same responder still answers a good query.
        Assert.Equal(2, Ask(responder, DnsPackets.Query("hello.vc.example", 1)).Answers.Count);
    }

    private sealed class AllNames : IDnsRecordSource
    {
        public bool HasAddress(string relativeName) => true;
        public IReadOnlyList<string> FindText(string relativeName) => [];
    }
}

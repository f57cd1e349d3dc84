// Package catalog holds the Velocity and Junifer event catalogue of the
// contract (catalog.md): the default mappings of its 22 event types,
// embedded from mappings.yaml (see [DefaultMappings]), and synthetic events
// of those types for tests, the demo, staging and load.
//
// All data made here is synthetic. It is modelled on public descriptions of
// Gentrack Velocity (AU/NZ) and Junifer (UK) and is not taken from a real
// system; people's names are common names, places are real localities with
// their postcodes, email addresses use the reserved example domains and
// phone numbers come from ranges set aside for fiction where one exists.
//
// # Identifiers
//
// Meter point identifiers are check-valid where a public rule exists, and
// each rule has a check function and a validator:
//
//   - UK MPAN core (13 digits): [MPANCoreCheckDigit], [ValidMPANCore];
//     weights 3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43, then the sum
//     modulo 11, modulo 10.
//   - UK gas MPRN (6 to 10 digits, the last two a check): [MPRNCheckDigits],
//     [ValidMPRN]; each body digit weighted by its position from the right,
//     sum modulo 11 (the rule of the project's research notes, gentrack.md §6).
//   - Australian NMI (10 characters and a checksum digit): [NMIChecksum],
//     [ValidNMI]; AEMO's Luhn-style sum over ASCII codes.
//   - New Zealand ICP (15 characters): [ValidICP] checks the format only
//     (10 digits, 2-letter distributor code, 3-character checksum). The
//     checksum algorithm is not verified, so generated ICPs are
//     format-valid but their last three characters are random.
//
// Company numbers are check-valid too: Australian ABNs (ATO modulus 89)
// and New Zealand NZBNs (GS1 check digit); UK company numbers are 8 digits.
//
// # Generator
//
// A [Generator] produces an endless stream of events from a
// [GeneratorConfig]. It keeps AccountsPerTenant accounts alive for every
// tenant and source and walks each through a plausible life, emitting the
// events of all accounts in order of occurredAt, so accounts of all tenants
// are interleaved and each account's events come in the order they
// happened:
//
//   - Junifer: customer-created, account-created, agreement-created, a
//     meter-point-registration-requested per meter point (sometimes
//     objected and re-requested, sometimes with a ticket), a
//     meter-point-supply-started on the supply start date, the first
//     bill-accepted (firstBillFl), direct-debit-created for direct-debit
//     customers; then monthly bills, now and then a contact-updated, a
//     ticket moving through Open, InProgress and Closed or a re-bill
//     (versionNumber 2); at last a meter-point-loss-notified per meter
//     point and a final bill.
//   - Velocity: quote-accepted, account-created, contract-created, a
//     switch-gain-started per service point (sometimes objected and
//     restarted), switch-gain-finished on the transfer date, contract-active,
//     service-point-updated, the first bill-ready (isFirstBill); then
//     monthly or quarterly bills and the occasional customer-updated or
//     service-point-updated; at last switch-loss-started and a final bill.
//
// An account that has left is replaced by a new one, so every type keeps
// appearing. Dates move forward per account and bill periods follow each
// other without gaps. Junifer events carry Europe/London time (Z or
// +01:00), Velocity events the local time of the account's state or
// region (+10:00/+11:00 in NSW, VIC, ACT and TAS, +10:00 in QLD,
// +12:00/+13:00 in New Zealand); the daylight-saving rules are computed in
// the package, which needs no time zone database. Each account's flow
// shares a correlationId ("c-<account>-onboarding", "c-<account>-bill-…",
// "c-<account>-loss") and causationId names the previous event of the
// flow.
//
// Output is reproducible: the same configuration, including Seed and Now,
// gives byte-identical events on the same Go release (eventIds are version 4 UUIDs drawn from the
// seeded generator, so they are unique but predictable: never use them
// where unpredictability matters). A Generator is not safe for concurrent
// use. Each live account takes about 3 KiB.
//
// [Example] returns one fixed event per catalogue type with the example
// values of catalog.md, and [EventTypes] lists a source's types.
package catalog

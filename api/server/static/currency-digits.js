// The minor-unit digits of every currency paysplit handles, as ISO 4217 publishes them (the
// table internal/money keeps; TestDashboardCurrencyDigitsAreISOs checks the two agree). The page
// uses it when an answer does not name a currency's digits: the browser's Intl follows CLDR,
// which gives IQD, IDR, HUF and a dozen others the digits of their cash, not ISO's (IQD 0, not 3).
'use strict';

window.paysplitCurrencyDigits = Object.freeze((() => {
  const byDigits = {
    0: [
      'bif clp djf gnf isk jpy kmf krw pyg rwf ugx uyi vnd vuv xaf xof xpf',
    ].join(' '),
    2: [
      'aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob bov brl bsd btn bwp',
      'byn bzd cad cdf che chf chw cny cop cou crc cup cve czk dkk dop dzd egp ern etb eur fjd',
      'fkp gbp gel ghs',
      'gip gmd gtq gyd hkd hnl htg huf idr ils inr irr jmd kes kgs khr kpw kyd kzt lak lbp lkr',
      'lrd lsl mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr',
      'nzd',
      'pab pen pgk php pkr pln qar ron rsd rub sar sbd scr sdg sek sgd shp sle sos srd ssp stn',
      'svc syp szl thb tjs tmt top try ttd twd tzs uah usd usn uyu uzs ved ves wst xcd xcg yer',
      'zar zmw zwg',
    ].join(' '),
    3: [
      'bhd iqd jod kwd lyd omr tnd',
    ].join(' '),
    4: [
      'clf uyw',
    ].join(' '),
  };
  const out = {};
  for (const [digits, codes] of Object.entries(byDigits)) {
    for (const code of codes.split(' ')) out[code] = Number(digits);
  }
  return out;
})());

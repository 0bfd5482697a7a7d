/**
 * Vinted prices are read by one parser (shared/vinted.ts) on both sides: the server's listings
 * (here) and the extension's price comparisons (extension/lib/vinted/mapping.ts, exercised by the
 * end-to-end suites).
 */
import { describe, expect, it } from "vitest";
import { parseVintedPrice } from "../../shared/vinted.js";
import { listingFields, readListings } from "../../server/src/vinted/normalize.js";

describe("one Vinted price parser", () => {
  it("reads the three shapes Vinted sends, and nothing else", () => {
    expect(parseVintedPrice("15.00")).toEqual({ amount: "15.00", value: 15, currency: null });
    expect(parseVintedPrice(12.5)).toEqual({ amount: "12.5", value: 12.5, currency: null });
    expect(parseVintedPrice({ amount: "15.0", currency_code: "EUR" })).toEqual({ amount: "15.0", value: 15, currency: "EUR" });
    for (const bad of ["", "  ", "abc", null, undefined, {}, { amount: "x" }, [15], Number.NaN]) expect(parseVintedPrice(bad), JSON.stringify(bad)).toBeNull();
  });

  it("the server's listings read their prices through it", () => {
    const fieldsOf = (item: Record<string, unknown>) => {
      const [listing] = readListings([{ id: 1, ...item }]).listings;
      const { price, price_value, currency } = listingFields(listing);
      return { price, price_value, currency };
    };
    expect(fieldsOf({ price: { amount: "15.0", currency_code: "EUR" } })).toEqual({ price: "15.00", price_value: 15, currency: "EUR" });
    expect(fieldsOf({ price: "9.999", currency: "PLN" })).toEqual({ price: "10.00", price_value: 10, currency: "PLN" });
    expect(fieldsOf({ price: "not a price", currency: "EUR" })).toEqual({ price: undefined, price_value: undefined, currency: "EUR" });
  });
});

export { ProductCatalog as Products } from "./ProductCatalog";
export { ProductPage } from "./ProductPage";

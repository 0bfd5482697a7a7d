import { render } from "preact";
import "../../lib/ui/base.css";
import "./options.css";
import { OptionsApp } from "./OptionsApp";

render(<OptionsApp />, document.getElementById("app") as HTMLElement);

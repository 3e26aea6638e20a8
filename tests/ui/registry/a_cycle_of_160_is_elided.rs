// A cycle of 160 daemons: the message keeps its start and end, says how
// many members it leaves out, and still ends with the advice.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    S0,
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    S7,
    S8,
    S9,
    S10,
    S11,
    S12,
    S13,
    S14,
    S15,
    S16,
    S17,
    S18,
    S19,
    S20,
    S21,
    S22,
    S23,
    S24,
    S25,
    S26,
    S27,
    S28,
    S29,
    S30,
    S31,
    S32,
    S33,
    S34,
    S35,
    S36,
    S37,
    S38,
    S39,
    S40,
    S41,
    S42,
    S43,
    S44,
    S45,
    S46,
    S47,
    S48,
    S49,
    S50,
    S51,
    S52,
    S53,
    S54,
    S55,
    S56,
    S57,
    S58,
    S59,
    S60,
    S61,
    S62,
    S63,
    S64,
    S65,
    S66,
    S67,
    S68,
    S69,
    S70,
    S71,
    S72,
    S73,
    S74,
    S75,
    S76,
    S77,
    S78,
    S79,
    S80,
    S81,
    S82,
    S83,
    S84,
    S85,
    S86,
    S87,
    S88,
    S89,
    S90,
    S91,
    S92,
    S93,
    S94,
    S95,
    S96,
    S97,
    S98,
    S99,
    S100,
    S101,
    S102,
    S103,
    S104,
    S105,
    S106,
    S107,
    S108,
    S109,
    S110,
    S111,
    S112,
    S113,
    S114,
    S115,
    S116,
    S117,
    S118,
    S119,
    S120,
    S121,
    S122,
    S123,
    S124,
    S125,
    S126,
    S127,
    S128,
    S129,
    S130,
    S131,
    S132,
    S133,
    S134,
    S135,
    S136,
    S137,
    S138,
    S139,
    S140,
    S141,
    S142,
    S143,
    S144,
    S145,
    S146,
    S147,
    S148,
    S149,
    S150,
    S151,
    S152,
    S153,
    S154,
    S155,
    S156,
    S157,
    S158,
    S159,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(Stage::S0, runner = run, depends_on = [Stage::S1])]
pub struct Stage0;
#[daemon(Stage::S1, runner = run, depends_on = [Stage::S2])]
pub struct Stage1;
#[daemon(Stage::S2, runner = run, depends_on = [Stage::S3])]
pub struct Stage2;
#[daemon(Stage::S3, runner = run, depends_on = [Stage::S4])]
pub struct Stage3;
#[daemon(Stage::S4, runner = run, depends_on = [Stage::S5])]
pub struct Stage4;
#[daemon(Stage::S5, runner = run, depends_on = [Stage::S6])]
pub struct Stage5;
#[daemon(Stage::S6, runner = run, depends_on = [Stage::S7])]
pub struct Stage6;
#[daemon(Stage::S7, runner = run, depends_on = [Stage::S8])]
pub struct Stage7;
#[daemon(Stage::S8, runner = run, depends_on = [Stage::S9])]
pub struct Stage8;
#[daemon(Stage::S9, runner = run, depends_on = [Stage::S10])]
pub struct Stage9;
#[daemon(Stage::S10, runner = run, depends_on = [Stage::S11])]
pub struct Stage10;
#[daemon(Stage::S11, runner = run, depends_on = [Stage::S12])]
pub struct Stage11;
#[daemon(Stage::S12, runner = run, depends_on = [Stage::S13])]
pub struct Stage12;
#[daemon(Stage::S13, runner = run, depends_on = [Stage::S14])]
pub struct Stage13;
#[daemon(Stage::S14, runner = run, depends_on = [Stage::S15])]
pub struct Stage14;
#[daemon(Stage::S15, runner = run, depends_on = [Stage::S16])]
pub struct Stage15;
#[daemon(Stage::S16, runner = run, depends_on = [Stage::S17])]
pub struct Stage16;
#[daemon(Stage::S17, runner = run, depends_on = [Stage::S18])]
pub struct Stage17;
#[daemon(Stage::S18, runner = run, depends_on = [Stage::S19])]
pub struct Stage18;
#[daemon(Stage::S19, runner = run, depends_on = [Stage::S20])]
pub struct Stage19;
#[daemon(Stage::S20, runner = run, depends_on = [Stage::S21])]
pub struct Stage20;
#[daemon(Stage::S21, runner = run, depends_on = [Stage::S22])]
pub struct Stage21;
#[daemon(Stage::S22, runner = run, depends_on = [Stage::S23])]
pub struct Stage22;
#[daemon(Stage::S23, runner = run, depends_on = [Stage::S24])]
pub struct Stage23;
#[daemon(Stage::S24, runner = run, depends_on = [Stage::S25])]
pub struct Stage24;
#[daemon(Stage::S25, runner = run, depends_on = [Stage::S26])]
pub struct Stage25;
#[daemon(Stage::S26, runner = run, depends_on = [Stage::S27])]
pub struct Stage26;
#[daemon(Stage::S27, runner = run, depends_on = [Stage::S28])]
pub struct Stage27;
#[daemon(Stage::S28, runner = run, depends_on = [Stage::S29])]
pub struct Stage28;
#[daemon(Stage::S29, runner = run, depends_on = [Stage::S30])]
pub struct Stage29;
#[daemon(Stage::S30, runner = run, depends_on = [Stage::S31])]
pub struct Stage30;
#[daemon(Stage::S31, runner = run, depends_on = [Stage::S32])]
pub struct Stage31;
#[daemon(Stage::S32, runner = run, depends_on = [Stage::S33])]
pub struct Stage32;
#[daemon(Stage::S33, runner = run, depends_on = [Stage::S34])]
pub struct Stage33;
#[daemon(Stage::S34, runner = run, depends_on = [Stage::S35])]
pub struct Stage34;
#[daemon(Stage::S35, runner = run, depends_on = [Stage::S36])]
pub struct Stage35;
#[daemon(Stage::S36, runner = run, depends_on = [Stage::S37])]
pub struct Stage36;
#[daemon(Stage::S37, runner = run, depends_on = [Stage::S38])]
pub struct Stage37;
#[daemon(Stage::S38, runner = run, depends_on = [Stage::S39])]
pub struct Stage38;
#[daemon(Stage::S39, runner = run, depends_on = [Stage::S40])]
pub struct Stage39;
#[daemon(Stage::S40, runner = run, depends_on = [Stage::S41])]
pub struct Stage40;
#[daemon(Stage::S41, runner = run, depends_on = [Stage::S42])]
pub struct Stage41;
#[daemon(Stage::S42, runner = run, depends_on = [Stage::S43])]
pub struct Stage42;
#[daemon(Stage::S43, runner = run, depends_on = [Stage::S44])]
pub struct Stage43;
#[daemon(Stage::S44, runner = run, depends_on = [Stage::S45])]
pub struct Stage44;
#[daemon(Stage::S45, runner = run, depends_on = [Stage::S46])]
pub struct Stage45;
#[daemon(Stage::S46, runner = run, depends_on = [Stage::S47])]
pub struct Stage46;
#[daemon(Stage::S47, runner = run, depends_on = [Stage::S48])]
pub struct Stage47;
#[daemon(Stage::S48, runner = run, depends_on = [Stage::S49])]
pub struct Stage48;
#[daemon(Stage::S49, runner = run, depends_on = [Stage::S50])]
pub struct Stage49;
#[daemon(Stage::S50, runner = run, depends_on = [Stage::S51])]
pub struct Stage50;
#[daemon(Stage::S51, runner = run, depends_on = [Stage::S52])]
pub struct Stage51;
#[daemon(Stage::S52, runner = run, depends_on = [Stage::S53])]
pub struct Stage52;
#[daemon(Stage::S53, runner = run, depends_on = [Stage::S54])]
pub struct Stage53;
#[daemon(Stage::S54, runner = run, depends_on = [Stage::S55])]
pub struct Stage54;
#[daemon(Stage::S55, runner = run, depends_on = [Stage::S56])]
pub struct Stage55;
#[daemon(Stage::S56, runner = run, depends_on = [Stage::S57])]
pub struct Stage56;
#[daemon(Stage::S57, runner = run, depends_on = [Stage::S58])]
pub struct Stage57;
#[daemon(Stage::S58, runner = run, depends_on = [Stage::S59])]
pub struct Stage58;
#[daemon(Stage::S59, runner = run, depends_on = [Stage::S60])]
pub struct Stage59;
#[daemon(Stage::S60, runner = run, depends_on = [Stage::S61])]
pub struct Stage60;
#[daemon(Stage::S61, runner = run, depends_on = [Stage::S62])]
pub struct Stage61;
#[daemon(Stage::S62, runner = run, depends_on = [Stage::S63])]
pub struct Stage62;
#[daemon(Stage::S63, runner = run, depends_on = [Stage::S64])]
pub struct Stage63;
#[daemon(Stage::S64, runner = run, depends_on = [Stage::S65])]
pub struct Stage64;
#[daemon(Stage::S65, runner = run, depends_on = [Stage::S66])]
pub struct Stage65;
#[daemon(Stage::S66, runner = run, depends_on = [Stage::S67])]
pub struct Stage66;
#[daemon(Stage::S67, runner = run, depends_on = [Stage::S68])]
pub struct Stage67;
#[daemon(Stage::S68, runner = run, depends_on = [Stage::S69])]
pub struct Stage68;
#[daemon(Stage::S69, runner = run, depends_on = [Stage::S70])]
pub struct Stage69;
#[daemon(Stage::S70, runner = run, depends_on = [Stage::S71])]
pub struct Stage70;
#[daemon(Stage::S71, runner = run, depends_on = [Stage::S72])]
pub struct Stage71;
#[daemon(Stage::S72, runner = run, depends_on = [Stage::S73])]
pub struct Stage72;
#[daemon(Stage::S73, runner = run, depends_on = [Stage::S74])]
pub struct Stage73;
#[daemon(Stage::S74, runner = run, depends_on = [Stage::S75])]
pub struct Stage74;
#[daemon(Stage::S75, runner = run, depends_on = [Stage::S76])]
pub struct Stage75;
#[daemon(Stage::S76, runner = run, depends_on = [Stage::S77])]
pub struct Stage76;
#[daemon(Stage::S77, runner = run, depends_on = [Stage::S78])]
pub struct Stage77;
#[daemon(Stage::S78, runner = run, depends_on = [Stage::S79])]
pub struct Stage78;
#[daemon(Stage::S79, runner = run, depends_on = [Stage::S80])]
pub struct Stage79;
#[daemon(Stage::S80, runner = run, depends_on = [Stage::S81])]
pub struct Stage80;
#[daemon(Stage::S81, runner = run, depends_on = [Stage::S82])]
pub struct Stage81;
#[daemon(Stage::S82, runner = run, depends_on = [Stage::S83])]
pub struct Stage82;
#[daemon(Stage::S83, runner = run, depends_on = [Stage::S84])]
pub struct Stage83;
#[daemon(Stage::S84, runner = run, depends_on = [Stage::S85])]
pub struct Stage84;
#[daemon(Stage::S85, runner = run, depends_on = [Stage::S86])]
pub struct Stage85;
#[daemon(Stage::S86, runner = run, depends_on = [Stage::S87])]
pub struct Stage86;
#[daemon(Stage::S87, runner = run, depends_on = [Stage::S88])]
pub struct Stage87;
#[daemon(Stage::S88, runner = run, depends_on = [Stage::S89])]
pub struct Stage88;
#[daemon(Stage::S89, runner = run, depends_on = [Stage::S90])]
pub struct Stage89;
#[daemon(Stage::S90, runner = run, depends_on = [Stage::S91])]
pub struct Stage90;
#[daemon(Stage::S91, runner = run, depends_on = [Stage::S92])]
pub struct Stage91;
#[daemon(Stage::S92, runner = run, depends_on = [Stage::S93])]
pub struct Stage92;
#[daemon(Stage::S93, runner = run, depends_on = [Stage::S94])]
pub struct Stage93;
#[daemon(Stage::S94, runner = run, depends_on = [Stage::S95])]
pub struct Stage94;
#[daemon(Stage::S95, runner = run, depends_on = [Stage::S96])]
pub struct Stage95;
#[daemon(Stage::S96, runner = run, depends_on = [Stage::S97])]
pub struct Stage96;
#[daemon(Stage::S97, runner = run, depends_on = [Stage::S98])]
pub struct Stage97;
#[daemon(Stage::S98, runner = run, depends_on = [Stage::S99])]
pub struct Stage98;
#[daemon(Stage::S99, runner = run, depends_on = [Stage::S100])]
pub struct Stage99;
#[daemon(Stage::S100, runner = run, depends_on = [Stage::S101])]
pub struct Stage100;
#[daemon(Stage::S101, runner = run, depends_on = [Stage::S102])]
pub struct Stage101;
#[daemon(Stage::S102, runner = run, depends_on = [Stage::S103])]
pub struct Stage102;
#[daemon(Stage::S103, runner = run, depends_on = [Stage::S104])]
pub struct Stage103;
#[daemon(Stage::S104, runner = run, depends_on = [Stage::S105])]
pub struct Stage104;
#[daemon(Stage::S105, runner = run, depends_on = [Stage::S106])]
pub struct Stage105;
#[daemon(Stage::S106, runner = run, depends_on = [Stage::S107])]
pub struct Stage106;
#[daemon(Stage::S107, runner = run, depends_on = [Stage::S108])]
pub struct Stage107;
#[daemon(Stage::S108, runner = run, depends_on = [Stage::S109])]
pub struct Stage108;
#[daemon(Stage::S109, runner = run, depends_on = [Stage::S110])]
pub struct Stage109;
#[daemon(Stage::S110, runner = run, depends_on = [Stage::S111])]
pub struct Stage110;
#[daemon(Stage::S111, runner = run, depends_on = [Stage::S112])]
pub struct Stage111;
#[daemon(Stage::S112, runner = run, depends_on = [Stage::S113])]
pub struct Stage112;
#[daemon(Stage::S113, runner = run, depends_on = [Stage::S114])]
pub struct Stage113;
#[daemon(Stage::S114, runner = run, depends_on = [Stage::S115])]
pub struct Stage114;
#[daemon(Stage::S115, runner = run, depends_on = [Stage::S116])]
pub struct Stage115;
#[daemon(Stage::S116, runner = run, depends_on = [Stage::S117])]
pub struct Stage116;
#[daemon(Stage::S117, runner = run, depends_on = [Stage::S118])]
pub struct Stage117;
#[daemon(Stage::S118, runner = run, depends_on = [Stage::S119])]
pub struct Stage118;
#[daemon(Stage::S119, runner = run, depends_on = [Stage::S120])]
pub struct Stage119;
#[daemon(Stage::S120, runner = run, depends_on = [Stage::S121])]
pub struct Stage120;
#[daemon(Stage::S121, runner = run, depends_on = [Stage::S122])]
pub struct Stage121;
#[daemon(Stage::S122, runner = run, depends_on = [Stage::S123])]
pub struct Stage122;
#[daemon(Stage::S123, runner = run, depends_on = [Stage::S124])]
pub struct Stage123;
#[daemon(Stage::S124, runner = run, depends_on = [Stage::S125])]
pub struct Stage124;
#[daemon(Stage::S125, runner = run, depends_on = [Stage::S126])]
pub struct Stage125;
#[daemon(Stage::S126, runner = run, depends_on = [Stage::S127])]
pub struct Stage126;
#[daemon(Stage::S127, runner = run, depends_on = [Stage::S128])]
pub struct Stage127;
#[daemon(Stage::S128, runner = run, depends_on = [Stage::S129])]
pub struct Stage128;
#[daemon(Stage::S129, runner = run, depends_on = [Stage::S130])]
pub struct Stage129;
#[daemon(Stage::S130, runner = run, depends_on = [Stage::S131])]
pub struct Stage130;
#[daemon(Stage::S131, runner = run, depends_on = [Stage::S132])]
pub struct Stage131;
#[daemon(Stage::S132, runner = run, depends_on = [Stage::S133])]
pub struct Stage132;
#[daemon(Stage::S133, runner = run, depends_on = [Stage::S134])]
pub struct Stage133;
#[daemon(Stage::S134, runner = run, depends_on = [Stage::S135])]
pub struct Stage134;
#[daemon(Stage::S135, runner = run, depends_on = [Stage::S136])]
pub struct Stage135;
#[daemon(Stage::S136, runner = run, depends_on = [Stage::S137])]
pub struct Stage136;
#[daemon(Stage::S137, runner = run, depends_on = [Stage::S138])]
pub struct Stage137;
#[daemon(Stage::S138, runner = run, depends_on = [Stage::S139])]
pub struct Stage138;
#[daemon(Stage::S139, runner = run, depends_on = [Stage::S140])]
pub struct Stage139;
#[daemon(Stage::S140, runner = run, depends_on = [Stage::S141])]
pub struct Stage140;
#[daemon(Stage::S141, runner = run, depends_on = [Stage::S142])]
pub struct Stage141;
#[daemon(Stage::S142, runner = run, depends_on = [Stage::S143])]
pub struct Stage142;
#[daemon(Stage::S143, runner = run, depends_on = [Stage::S144])]
pub struct Stage143;
#[daemon(Stage::S144, runner = run, depends_on = [Stage::S145])]
pub struct Stage144;
#[daemon(Stage::S145, runner = run, depends_on = [Stage::S146])]
pub struct Stage145;
#[daemon(Stage::S146, runner = run, depends_on = [Stage::S147])]
pub struct Stage146;
#[daemon(Stage::S147, runner = run, depends_on = [Stage::S148])]
pub struct Stage147;
#[daemon(Stage::S148, runner = run, depends_on = [Stage::S149])]
pub struct Stage148;
#[daemon(Stage::S149, runner = run, depends_on = [Stage::S150])]
pub struct Stage149;
#[daemon(Stage::S150, runner = run, depends_on = [Stage::S151])]
pub struct Stage150;
#[daemon(Stage::S151, runner = run, depends_on = [Stage::S152])]
pub struct Stage151;
#[daemon(Stage::S152, runner = run, depends_on = [Stage::S153])]
pub struct Stage152;
#[daemon(Stage::S153, runner = run, depends_on = [Stage::S154])]
pub struct Stage153;
#[daemon(Stage::S154, runner = run, depends_on = [Stage::S155])]
pub struct Stage154;
#[daemon(Stage::S155, runner = run, depends_on = [Stage::S156])]
pub struct Stage155;
#[daemon(Stage::S156, runner = run, depends_on = [Stage::S157])]
pub struct Stage156;
#[daemon(Stage::S157, runner = run, depends_on = [Stage::S158])]
pub struct Stage157;
#[daemon(Stage::S158, runner = run, depends_on = [Stage::S159])]
pub struct Stage158;
#[daemon(Stage::S159, runner = run, depends_on = [Stage::S0])]
pub struct Stage159;

fn main() {}
